"""`/idl deadlines` through the bot's real slash-command route, against a bare aiohttp handler.

Run from the repository root:

    .venv/bin/python -m benchmarks.bench_deadlines [--seconds 5] [--warmup 1] [--clients 64]

The server process runs, on one event loop (like production):
  * the Mattermost simulator with the example course seeded and /idl registered,
  * the real `Bot` (production `Tuning`, SQLite in a temp dir, clock inside the 2018 term),
  * a bare aiohttp app whose one handler reads the same form and returns a small JSON body.

The load generator is a separate process (this file with `--generate`), so it does not
share the server's event loop: one `aiohttp.ClientSession`, keep-alive connector with
limit = clients, `clients` worker tasks each looping POST → read body. Both targets get
the identical form-encoded body and headers that Mattermost sends. Each target is run
`--rounds` times, alternately; the best run (highest requests/s) of each is reported.

Latency is per request, measured in the generator (send → body read). Only requests that
complete inside the measured window count; the warm-up is discarded. Any non-200
response or transport error fails the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import logging
import math
import os
import pstats
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

BENCH = "deadlines"
ROUTE = "/mattermost/command"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
REPO_ROOT = Path(__file__).resolve().parents[1]
START_MARK = "MEASURE_START"
END_MARK = "MEASURE_END"


# ---- load generator (its own process) ----------------------------------------------------


@dataclass(frozen=True)
class LoadSpec:
    url: str
    body: str
    headers: dict[str, str]
    clients: int
    warmup: float
    seconds: float


@dataclass
class LoadResult:
    target: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int]
    client_cpu: float  # generator process CPU seconds / wall seconds in the window
    server_cpu: float = 0.0  # server process, same window
    logging: bool = False
    log_lines: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def generate(spec: LoadSpec) -> dict[str, Any]:
    """Drive `spec.url` with `spec.clients` concurrent keep-alive clients; print marks."""
    connector = aiohttp.TCPConnector(limit=spec.clients, limit_per_host=spec.clients)
    timeout = aiohttp.ClientTimeout(total=30)
    body = spec.body.encode()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    begin = loop.time()
    measure_from = begin + spec.warmup
    stop = measure_from + spec.seconds
    cpu: dict[str, float] = {}

    async def marks() -> None:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        cpu["start"] = time.process_time()
        cpu["wall_start"] = loop.time()
        print(START_MARK, flush=True)
        await asyncio.sleep(max(0.0, stop - loop.time()))
        cpu["end"] = time.process_time()
        cpu["wall_end"] = loop.time()
        print(END_MARK, flush=True)

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            started = loop.time()
            if started >= stop:
                return
            try:
                async with session.post(spec.url, data=body, headers=spec.headers) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                errors[type(err).__name__] += 1
                continue
            finished = loop.time()
            if status != 200:
                errors[f"HTTP {status}"] += 1
            elif measure_from <= finished <= stop:
                latencies.append(finished - started)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(marks(), *(worker(session) for _ in range(spec.clients)))
    latencies.sort()
    window = cpu["wall_end"] - cpu["wall_start"]
    return {
        "requests": len(latencies),
        "seconds": spec.seconds,
        "rps": len(latencies) / spec.seconds,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "max_ms": (latencies[-1] * 1e3) if latencies else math.nan,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "client_cpu": (cpu["end"] - cpu["start"]) / window if window > 0 else math.nan,
    }


def generator_main() -> int:
    spec = LoadSpec(**json.loads(sys.stdin.read()))
    result = asyncio.run(generate(spec))
    print(json.dumps(result), flush=True)
    return 0


async def run_load(target: str, spec: LoadSpec) -> LoadResult:
    """Run the generator process against `spec.url`; the server loop keeps serving meanwhile."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.bench_deadlines",
        "--generate",
        cwd=REPO_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(asdict(spec)).encode())
    await proc.stdin.drain()
    proc.stdin.close()
    cpu_start = cpu_end = wall_start = wall_end = 0.0
    result: dict[str, Any] | None = None
    async for raw in proc.stdout:
        line = raw.decode().strip()
        if line == START_MARK:
            cpu_start, wall_start = time.process_time(), time.monotonic()
        elif line == END_MARK:
            cpu_end, wall_end = time.process_time(), time.monotonic()
        elif line.startswith("{"):
            result = json.loads(line)
    if await proc.wait() != 0 or result is None:
        raise SystemExit(f"load generator for {target} failed (exit {proc.returncode})")
    server_cpu = (cpu_end - cpu_start) / (wall_end - wall_start) if wall_end > wall_start else math.nan
    return LoadResult(target=target, server_cpu=server_cpu, **result)


# ---- server side: the bot and the baseline -----------------------------------------------


def slash_form(
    *, token: str, user_id: str, user_name: str, channel_id: str, team_id: str, sim_url: str, text: str,
    hook_id: str | None = None, team_domain: str = "idl2018",
) -> str:  # fmt: skip
    """The body Mattermost POSTs for `/idl <text>` (url.Values.Encode: keys sorted); its
    response_url names `hook_id` (one the simulator knows) or a made-up one."""
    from idlbot.devtools.sim.mm_commands import trigger_id
    from idlbot.devtools.sim.mm_state import new_id

    fields = {
        "channel_id": channel_id,
        "channel_name": "town-square",
        "command": "/idl",
        "response_url": f"{sim_url}/hooks/commands/{hook_id or new_id()}",
        "root_id": "",
        "team_domain": team_domain,
        "team_id": team_id,
        "text": text,
        "token": token,
        "trigger_id": trigger_id(user_id, int(time.time() * 1000)),
        "user_id": user_id,
        "user_name": user_name,
    }
    return urllib.parse.urlencode(sorted(fields.items()))


def slash_headers(token: str) -> dict[str, str]:
    """The headers Mattermost's DoCommandRequest sends."""
    return {
        "Accept": "application/json",
        "User-Agent": "Mattermost-Bot/1.1",
        "Accept-Encoding": "gzip",
        "Authorization": f"Token {token}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def baseline_handler(request: web.Request) -> web.Response:
    form = await request.post()
    payload = {"response_type": "ephemeral", "text": f"ok {form.get('text', '')}"}
    return web.Response(body=json.dumps(payload).encode(), content_type="application/json")


@contextlib.asynccontextmanager
async def baseline_server() -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_post(ROUTE, baseline_handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        server = getattr(site, "_server", None)
        yield int(server.sockets[0].getsockname()[1]) if server is not None else 0
    finally:
        await runner.cleanup()


@dataclass
class BotUnderTest:
    port: int
    body: str
    headers: dict[str, str]
    sample_reply: str
    run_command: Callable[[], Awaitable[object]]
    users: dict[str, str] = field(default_factory=dict)  # username -> Mattermost id (seeded)


async def _register(sim_url: str, bot_token: str, team: str, public_url: str) -> str:
    from idlbot.adapters.mattermost.rest import MattermostChat
    from idlbot.adapters.mattermost.setup import setup_command
    from idlbot.commands import build_registry

    chat = MattermostChat(sim_url, bot_token, team=team)
    try:
        await chat.login()
        _, command = await setup_command(chat, public_url, build_registry())
    finally:
        await chat.close()
    return str(command["token"])


@contextlib.asynccontextmanager
async def bot_server(data_dir: Path, text: str = "deadlines") -> AsyncIterator[BotUnderTest]:
    """The real Bot against the simulator, as `tests/app/conftest.py::make_harness` builds it,
    but with production `Tuning`."""
    from idlbot.app import Bot
    from idlbot.clock import ShiftedClock
    from idlbot.config import example_config_path, load
    from idlbot.devtools.demo import DEMO_START, seed, with_endpoints
    from idlbot.devtools.sim.mattermost import MattermostSim
    from idlbot.storage.db import upgrade

    sim = MattermostSim(ping_interval=60.0)
    env = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}
    info = seed(sim, load(example_config_path(), env=env))
    sim_url = await sim.start()
    db_url = f"sqlite+aiosqlite:///{data_dir / 'idlbot.db'}"
    env["IDLBOT_MATTERMOST_TOKEN"] = info["tokens"]["idlbot"]
    team = load(example_config_path(), env=env).mattermost.team
    env["IDLBOT_SLASH_TOKEN"] = await _register(
        sim_url, env["IDLBOT_MATTERMOST_TOKEN"], team, "http://127.0.0.1:9"
    )
    settings = with_endpoints(
        load(example_config_path(), env=env), mattermost_url=sim_url, port=0, database_url=db_url
    )
    await upgrade(db_url)
    bot = Bot(settings, clock=ShiftedClock(DEMO_START))
    try:
        await bot.start()
        await asyncio.wait_for(bot.ready.wait(), 10)
        await _register(sim_url, env["IDLBOT_MATTERMOST_TOKEN"], team, f"http://127.0.0.1:{bot.port}")
        alice, channel = str(info["users"]["alice"]), str(info["channels"]["town-square"])
        # end to end once through the simulator: proves the route works and warms the user cache
        via_sim = await sim.execute_command(alice, channel, f"/idl {text}")
        token = env["IDLBOT_SLASH_TOKEN"]
        body = slash_form(
            token=token,
            user_id=alice,
            user_name="alice",
            channel_id=channel,
            team_id=str(info["team_id"]),
            sim_url=sim_url,
            text=text,
        )
        headers = slash_headers(token)
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{bot.port}{ROUTE}", data=body, headers=headers) as resp,
        ):
            reply = await resp.json()
            if resp.status != 200 or resp.headers.get("Content-Type") != "application/json":
                raise SystemExit(f"warm-up request failed: {resp.status} {reply}")
        shows_deadlines = text != "deadlines" or "Times are in" in reply.get("text", "")
        if not shows_deadlines or reply.get("text") != via_sim["text"]:
            raise SystemExit(
                f"/idl {text} did not answer as expected: {reply!r} (via the simulator: {via_sim!r})"
            )
        dispatcher = bot.dispatcher

        def run_command() -> Awaitable[object]:
            return dispatcher.run(alice, channel, text, "slash", "alice")

        users = {name: str(uid) for name, uid in info["users"].items()}
        yield BotUnderTest(int(bot.port or 0), body, headers, reply["text"], run_command, users)
    finally:
        await bot.stop()
        await sim.stop()


# ---- logging modes -----------------------------------------------------------------------


def quiet_logging() -> None:
    root = logging.getLogger()
    root.handlers[:] = []
    root.setLevel(logging.WARNING)
    logging.getLogger("idlbot").setLevel(logging.WARNING)


@contextlib.contextmanager
def production_logging(path: Path, secrets: tuple[str | None, ...]) -> Iterator[None]:
    """`idlbot.logs.setup` as `idlbot run` calls it (INFO, JSON lines, redaction), writing to `path`."""
    from idlbot import logs

    logging.getLogger("idlbot").setLevel(logging.NOTSET)
    with path.open("w", encoding="utf-8") as stream:
        logs.setup("INFO", secrets=secrets, stream=stream)
        try:
            yield
        finally:
            for handler in logging.getLogger().handlers:
                handler.flush()
            quiet_logging()


# ---- orchestration -----------------------------------------------------------------------


def best(results: list[LoadResult]) -> LoadResult:
    return max(results, key=lambda r: r.rps)


def fmt_row(label: str, r: LoadResult) -> str:
    return (
        f"{label:<26} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.max_ms:>8.1f} "
        f"{r.errors:>6} {r.server_cpu * 100:>6.0f}% {r.client_cpu * 100:>6.0f}% {cpu_per_request_us(r):>9.0f}"
    )


def cpu_per_request_us(r: LoadResult) -> float:
    return r.server_cpu / r.rps * 1e6 if r.rps else math.nan


async def command_cpu_us(run_command: Callable[[], Awaitable[object]], calls: int = 2000) -> float:
    """Server-process CPU per `Dispatcher.run` call, in-process, without HTTP."""
    await run_command()
    started = time.process_time()
    for _ in range(calls):
        await run_command()
    return (time.process_time() - started) / calls * 1e6


HEADER = (
    f"{'run':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
    f"{'errors':>6} {'srvCPU':>7} {'genCPU':>7} {'srv us/req':>9}"
)


async def profile_bot(bot: BotUnderTest, spec: LoadSpec, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        result = await run_load("bot (cProfile)", spec)
    finally:
        profiler.disable()
    out = io.StringIO()
    out.write(
        f"cProfile of the server process during one bot run ({result.rps:.0f} req/s under the profiler)\n"
    )
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


async def bench(args: argparse.Namespace) -> int:
    quiet_logging()
    args.loadavg_start = os.getloadavg()
    runs: list[LoadResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-deadlines-") as tmp:
        data_dir = Path(tmp)
        async with baseline_server() as base_port, bot_server(data_dir, args.text) as bot:

            def spec(port: int) -> LoadSpec:
                return LoadSpec(
                    url=f"http://127.0.0.1:{port}{ROUTE}",
                    body=bot.body,
                    headers=bot.headers,
                    clients=args.clients,
                    warmup=args.warmup,
                    seconds=args.seconds,
                )

            print(
                f"bench deadlines: /idl {args.text}, {args.clients} clients, "
                f"{args.warmup:g} s warm-up + {args.seconds:g} s "
                f"per run, {args.rounds} rounds alternating baseline/bot; python {sys.version.split()[0]}, "
                f"aiohttp {aiohttp.__version__}; load average before {_loadavg(args.loadavg_start)}"
            )
            first_line = bot.sample_reply.splitlines()[0] if bot.sample_reply else ""
            print(f"bot reply ({len(bot.sample_reply)} chars) starts: {first_line[:90]!r}")
            for round_no in range(1, args.rounds + 1):
                for target, port in (("baseline", base_port), ("bot", bot.port)):
                    result = await run_load(target, spec(port))
                    result.extra["round"] = round_no
                    runs.append(result)
                    rps, p99 = result.rps, result.p99_ms
                    print(
                        f"  round {round_no} {target:<9} {rps:7.0f} req/s  p99 {p99:6.2f} ms",
                        flush=True,
                    )
            logged: LoadResult | None = None
            if not args.no_log_run:
                log_path = data_dir / "idlbot.log"
                token = bot.headers["Authorization"].removeprefix("Token ")
                with production_logging(log_path, (token,)):
                    logged = await run_load("bot", spec(bot.port))
                logged.logging = True
                with log_path.open(encoding="utf-8") as f:
                    logged.log_lines = sum(1 for _ in f)
                runs.append(logged)
                print(
                    f"  logging   bot       {logged.rps:7.0f} req/s  p99 {logged.p99_ms:6.2f} ms "
                    f"({logged.log_lines} JSON log lines)",
                    flush=True,
                )
            args.command_us = await command_cpu_us(bot.run_command)
            profile_text = await profile_bot(bot, spec(bot.port), args.profile) if args.profile else ""
    args.loadavg_end = os.getloadavg()
    return report(args, runs, profile_text)


def _loadavg(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def report(args: argparse.Namespace, runs: list[LoadResult], profile_text: str) -> int:
    base = best([r for r in runs if r.target == "baseline"])
    quiet = best([r for r in runs if r.target == "bot" and not r.logging])
    logged = next((r for r in runs if r.logging), None)
    ratio = quiet.rps / base.rps if base.rps else math.nan
    print()
    print(HEADER)
    for r in runs:
        label = f"{r.target} r{r.extra['round']}" if not r.logging else "bot + JSON logging to file"
        print(fmt_row(label, r))
    print()
    print(
        f"best of {args.rounds} (highest req/s) per target; "
        "logging quiet (idlbot loggers at WARNING) unless noted"
    )
    print(HEADER)
    print(fmt_row("baseline (bare aiohttp)", base))
    print(fmt_row(f"bot /idl {args.text}", quiet))
    if logged is not None:
        print(fmt_row("bot + JSON logging to file", logged))
    print()
    met = ratio >= TARGET_RATIO and quiet.p99_ms <= TARGET_P99_MS
    print(
        f"ratio bot/baseline = {ratio:.3f} (target >= {TARGET_RATIO}); bot p99 = {quiet.p99_ms:.2f} ms "
        f"(target <= {TARGET_P99_MS:g} ms) -> {'MET' if met else 'NOT MET'}"
    )
    logged_ratio = logged.rps / base.rps if logged is not None and base.rps else None
    if logged is not None and logged_ratio is not None:
        logged_met = logged_ratio >= TARGET_RATIO and logged.p99_ms <= TARGET_P99_MS
        print(
            f"with production logging: ratio = {logged_ratio:.3f}, p99 = {logged.p99_ms:.2f} ms "
            f"-> {'MET' if logged_met else 'NOT MET'} (single run, vs the best baseline)"
        )
    print(
        f"server CPU per request: baseline {cpu_per_request_us(base):.0f} us, "
        f"bot {cpu_per_request_us(quiet):.0f} us; Dispatcher.run({args.text!r}) alone, "
        f"in-process without HTTP: {args.command_us:.0f} us"
    )
    if base.client_cpu > 0.9:
        print(
            f"note: the generator used {base.client_cpu:.0%} of a core on the baseline, so the baseline "
            "is client-bound and the ratio flatters the bot; compare the server CPU per request too"
        )
    print(
        f"load average before {_loadavg(args.loadavg_start)}, after {_loadavg(args.loadavg_end)} "
        f"(this machine has {os.cpu_count()} cores; other load skews the numbers)"
    )
    if profile_text:
        print()
        print(profile_text)
    errors = sum(r.errors for r in runs)
    summary = {
        "bench": BENCH,
        "text": args.text,
        "clients": args.clients,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "pick": "best rps of rounds",
        "baseline": _summary(base),
        "bot": _summary(quiet),
        "bot_logging": _summary(logged) if logged is not None else None,
        "ratio": round(ratio, 4),
        "command_cpu_us": round(args.command_us, 1),
        "ratio_logging": round(logged_ratio, 4) if logged_ratio is not None else None,
        "target": {"ratio": TARGET_RATIO, "p99_ms": TARGET_P99_MS},
        "target_met": met,
        "errors": errors,
        "runs": [_summary(r) for r in runs],
        "loadavg": {"before": list(args.loadavg_start), "after": list(args.loadavg_end)},
    }
    print(json.dumps(_finite(summary)))
    if errors:
        kinds = {f"{r.target}{' logging' if r.logging else ''}": r.error_kinds for r in runs if r.errors}
        print(f"FAILED: {errors} non-200 responses or transport errors: {kinds}", file=sys.stderr)
        return 1
    return 0


def _finite(value: Any) -> Any:
    """NaN (no successful requests) as null, so the JSON line stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _summary(r: LoadResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "target": r.target,
        "logging": r.logging,
        "requests": r.requests,
        "rps": round(r.rps, 1),
        "p50_ms": round(r.p50_ms, 3),
        "p99_ms": round(r.p99_ms, 3),
        "max_ms": round(r.max_ms, 3),
        "errors": r.errors,
        "server_cpu": round(r.server_cpu, 3),
        "client_cpu": round(r.client_cpu, 3),
        "server_cpu_us_per_request": round(cpu_per_request_us(r), 1),
    }
    if r.log_lines is not None:
        out["log_lines"] = r.log_lines
    if "round" in r.extra:
        out["round"] = r.extra["round"]
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_deadlines", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run (default 5)")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="warm-up seconds per run, discarded (default 1)"
    )
    parser.add_argument("--clients", type=int, default=64, help="concurrent keep-alive clients (default 64)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating baseline/bot rounds (default 2)")
    parser.add_argument("--no-log-run", action="store_true", help="skip the run with production JSON logging")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="after the runs, one extra bot run under cProfile; print the top N functions",
    )
    parser.add_argument(
        "--text",
        default="deadlines",
        help="command text sent to the bot (default deadlines; e.g. whoami as a control)",
    )
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.generate:
        return generator_main()
    return asyncio.run(bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
