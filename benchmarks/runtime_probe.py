"""The running `idlbot run` process seen from outside: start-up time, GC pauses under load,
RSS after the load (overviews included) and the time a SIGTERM takes.

Run: `.venv/bin/python -m benchmarks.runtime_probe [--students 500] [--seconds 10] [--clients 64]`
(`--gc-defaults` runs the bot with CPython's collector settings, for the "before" column).

Not the throughput benchmark (that is `bench_wrk*`, with wrk as the load generator): here
the load comes from an in-process aiohttp client, which is slower than wrk but enough to
make the bot collect garbage the way it does under load. What is measured comes from the
bot process itself: `idlbot_gc_pause_seconds` on /metrics (`idlbot.gctune`) and VmRSS
from /proc/PID/status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench_deadlines import ROUTE, _register, slash_form, slash_headers
from benchmarks.bench_qualification import build

NOW = "2018-12-04T09:00:00+01:00"


def vm_rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def gc_histogram(metrics: str, name: str = "idlbot_gc_pause_seconds") -> dict[str, dict[str, float]]:
    """{generation: {le: count, "count": n, "sum": s}} from the Prometheus text."""
    out: dict[str, dict[str, float]] = {}
    for line in metrics.splitlines():
        m = re.match(name + r'_bucket\{generation="(\d)",le="([^"]+)"\} (\S+)', line)
        if m:
            out.setdefault(m.group(1), {})[m.group(2)] = float(m.group(3))
        m = re.match(name + r'_(count|sum)\{generation="(\d)"\} (\S+)', line)
        if m:
            out.setdefault(m.group(2), {})[m.group(1)] = float(m.group(3))
    return out


def write_config(path: Path, mattermost_url: str, database_url: str, port: int) -> None:
    """The example course with local endpoints, without GitLab (none runs here)."""
    from tests.support.configfile import write_config as write

    write(path, mattermost_url=mattermost_url, database_url=database_url, port=port)
    text = re.sub(r"^\[gitlab\]\n.*?(?=^\[)", "", path.read_text(), count=1, flags=re.MULTILINE | re.DOTALL)
    # the defaults; left out so that an older checkout (`--python`), which lacks them, runs too
    text = re.sub(r"^(pool_size|max_overflow) = .*\n", "", text, flags=re.MULTILINE)
    path.write_text(text)


async def probe(args: argparse.Namespace) -> dict[str, Any]:
    from idlbot.config import example_config_path, load
    from idlbot.devtools.demo import seed
    from idlbot.devtools.sim.mattermost import MattermostSim

    tmp = Path(tempfile.mkdtemp(prefix="idlbot-probe-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'idlbot.db'}"
    engine, _ = await build(db_url, args.students)
    await engine.dispose()
    sim = MattermostSim(ping_interval=60.0)
    env = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}
    settings = load(example_config_path(), env=env)
    info = seed(sim, settings)
    students = {f"s{n:04d}": str(sim.add_user(f"s{n:04d}")["id"]) for n in range(args.students)}
    sim_url = await sim.start()
    bot_token = info["tokens"]["idlbot"]
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    slash_token = await _register(sim_url, bot_token, settings.mattermost.team, f"http://127.0.0.1:{port}")
    config = tmp / "idlbot.toml"
    write_config(config, sim_url, db_url, port)
    child_env = {**os.environ, "IDLBOT_MATTERMOST_TOKEN": bot_token, "IDLBOT_SLASH_TOKEN": slash_token}
    if args.gc_defaults:
        child_env["IDLBOT_GC_TUNE"] = "0"
    log = (tmp / "bot.log").open("wb")
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        args.python, "-m", "idlbot", "run", "--config", str(config), "--pretend-now", NOW,
        env=child_env, stdout=asyncio.subprocess.DEVNULL, stderr=log, cwd=tmp,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"students": args.students, "clients": args.clients}
    result["gc_defaults"] = args.gc_defaults
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{base}/healthz") as r:
                    if (await r.json())["websocket"]["connected"]:
                        break
            except aiohttp.ClientError:
                pass
            if proc.returncode is not None or time.monotonic() - began > 30:
                raise SystemExit(f"the bot did not start: {(tmp / 'bot.log').read_text()[-2000:]}")
            await asyncio.sleep(0.01)
        result["startup_s"] = round(time.monotonic() - began, 2)
        result["rss_idle_mb"] = round(vm_rss_mb(proc.pid), 1)
        channel, team = str(info["channels"]["town-square"]), str(info["team_id"])
        names = list(students)
        headers = slash_headers(slash_token)
        latencies: dict[str, list[float]] = {}

        async def client(i: int, text: str, until: float) -> None:
            n = i
            while time.monotonic() < until:
                name = names[n % len(names)]
                n += args.clients
                body = slash_form(
                    token=slash_token,
                    user_id=students[name],
                    user_name=name,
                    channel_id=channel,
                    team_id=team,
                    sim_url=sim_url,
                    text=text,
                )
                t = time.perf_counter()
                async with http.post(base + ROUTE, data=body, headers=headers) as r:
                    await r.read()
                latencies.setdefault(text, []).append(time.perf_counter() - t)

        for text in ("deadlines", "status"):
            until = time.monotonic() + args.seconds
            await asyncio.gather(*(client(i, text, until) for i in range(args.clients)))
        instructor = settings.roles.instructors[0]
        for _ in range(args.overviews):
            body = slash_form(
                token=slash_token,
                user_id=str(info["users"][instructor]),
                user_name=instructor,
                channel_id=channel,
                team_id=team,
                sim_url=sim_url,
                text="overview",
            )
            async with http.post(base + ROUTE, data=body, headers=headers) as r:
                await r.read()
        await asyncio.sleep(3)  # an overview answered via response_url finishes
        async with http.get(f"{base}/metrics") as r:
            scraped = await r.text()
        hist = gc_histogram(scraped)
        result["gc_pauses_cpu"] = gc_histogram(scraped, "idlbot_gc_pause_cpu_seconds")
        result["loadavg"] = os.getloadavg()
        result["rss_after_load_mb"] = round(vm_rss_mb(proc.pid), 1)
        for text, values in latencies.items():
            values.sort()
            result[f"{text}_requests"] = len(values)
            result[f"{text}_rps"] = round(len(values) / args.seconds)
            result[f"{text}_p99_ms"] = round(values[int(len(values) * 0.99) - 1] * 1e3, 1)
        result["gc_pauses"] = hist
        maps = await asyncio.to_thread(Path(f"/proc/{proc.pid}/maps").read_text)
        result["matplotlib_or_numpy_in_bot"] = "matplotlib" in maps or "numpy" in maps
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        result["stop_s"] = round(time.monotonic() - began, 2)
    await sim.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--overviews", type=int, default=3)
    parser.add_argument("--gc-defaults", action="store_true", help="CPython's collector settings")
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter that runs the bot (another checkout's venv)"
    )
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(probe(args)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
