"""Fan-out of 300 personal DMs through the outbox against the Mattermost simulator.

Run: `.venv/bin/python -m benchmarks.bench_fanout [--dms 300]`

Two runs with the real Bot (outbox worker, mattermostautodriver over real sockets), on
SQLite in a temp dir:
- rate limit on, as Mattermost's defaults when enabled (10 req/s, burst 100): all DMs
  delivered, none twice, and the time compared with what the limit allows for the
  requests the bot needed (each new DM channel costs one POST /channels/direct, each DM
  one POST /posts);
- rate limit off: DMs per second, against a baseline of bare POST /api/v4/posts to the
  same simulator in the same process, through aiohttp's client as the bot's driver sends
  them (its transport), 16 at a time as the outbox (the ratio is what the outbox costs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.app import Bot, Tuning
from idlbot.clock import ShiftedClock
from idlbot.config import example_config_path, load
from idlbot.devtools.demo import DEMO_START, seed, with_endpoints
from idlbot.devtools.sim.mattermost import MattermostSim
from idlbot.storage.db import upgrade


async def world(tmp: Path, dms: int, limited: bool) -> tuple[MattermostSim, Bot, list[str]]:
    sim = MattermostSim()
    env = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}
    base = load(example_config_path(), env=env)
    info = seed(sim, base)
    users = [sim.add_user(f"student{n:03d}")["id"] for n in range(dms)]
    for user_id in users:
        sim.add_team_member(info["team_id"], user_id)
    url = await sim.start()
    env["IDLBOT_MATTERMOST_TOKEN"] = info["tokens"]["idlbot"]
    db = f"sqlite+aiosqlite:///{tmp / ('limited.db' if limited else 'open.db')}"
    await upgrade(db)
    settings = with_endpoints(
        load(example_config_path(), env=env), mattermost_url=url, port=0, database_url=db
    )
    settings = replace(settings, gitlab=None)
    bot = Bot(settings, clock=ShiftedClock(DEMO_START), tuning=Tuning(outbox_poll=0.05))
    await bot.start()
    await asyncio.wait_for(bot.ready.wait(), 10)
    if limited:
        sim.faults.set_rate_limit(10, burst=100)
    return sim, bot, users


async def fan_out(dms: int, limited: bool) -> dict[str, Any]:
    """A cold fan-out (every DM channel is new), then a warm one (the channels are known, as
    for every fan-out after the first of a term)."""
    with tempfile.TemporaryDirectory() as tmp:
        sim, bot, users = await world(Path(tmp), dms, limited)
        cold = await one_fan_out(sim, bot, users, "a03", limited)
        if limited:
            await asyncio.sleep(10.5)  # let the burst refill: the warm run starts like the cold one
        warm = await one_fan_out(sim, bot, users, "a04", limited)
        await bot.stop()
        await sim.stop()
    return {"cold": cold, "warm": warm}


async def one_fan_out(
    sim: MattermostSim, bot: Bot, users: list[str], tag: str, limited: bool
) -> dict[str, Any]:
    before = len(sim.requests)
    started = time.perf_counter()
    now = bot.clock.now()
    # as the reminder firing does it: one transaction for the whole fan-out
    items = [(f"nudge:{tag}:{user_id}", user_id) for user_id in users]
    await bot.outbox.enqueue_dms(
        items=items, message=f"{tag} is due in 6 h and I have no hand-in yet", now=now
    )
    bot.worker.wake()
    bot_id, prefix = bot.chat.bot_user_id, f"nudge:{tag}:"

    def delivered() -> Counter[str]:
        keys = Counter(str(p["props"].get(KEY_PROP)) for p in sim.posts if p["user_id"] == bot_id)
        return Counter({k: c for k, c in keys.items() if k.startswith(prefix)})

    while len(delivered()) < len(users):  # noqa: ASYNC110 - polling the simulator state is the measurement
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.5)  # a duplicate would arrive right behind
    nudges = delivered()
    requests = [r for r in sim.requests[before:] if r.path.startswith("/api/v4/")]
    throttled = sum(1 for r in requests if r.status == 429)
    result: dict[str, Any] = {
        "dms": len(users),
        "seconds": round(elapsed, 2),
        "dms_per_s": round(len(users) / elapsed, 1),
        "delivered": len(nudges),
        "duplicates": sum(c - 1 for c in nudges.values()),
        "requests": len(requests),
        "429s": throttled,
    }
    if limited:
        allowed = max(0.0, (len(requests) - throttled - 101) / 10.0)  # burst 100 (+1, GCRA), then 10/s
        result["limit_allows_s"] = round(allowed, 2)
        result["vs_limit"] = round(elapsed / allowed, 3) if allowed else None
    return result


async def baseline(n: int) -> dict[str, Any]:
    sim = MattermostSim()
    env = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}
    info = seed(sim, load(example_config_path(), env=env))
    url = await sim.start()
    channel = info["channels"]["town-square"]
    headers = {"Authorization": f"Bearer {info['tokens']['idlbot']}"}
    async with aiohttp.ClientSession(base_url=url, headers=headers) as client:
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> None:
            async with sem:
                body = {"channel_id": channel, "message": f"m{i}"}
                async with client.post("/api/v4/posts", json=body) as r:
                    r.raise_for_status()
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - started
    await sim.stop()
    return {"posts": n, "seconds": round(elapsed, 2), "posts_per_s": round(n / elapsed, 1)}


async def main(dms: int, skip_limited: bool) -> dict[str, Any]:
    logging.getLogger().setLevel(logging.ERROR)
    base = await baseline(dms)
    open_run = await fan_out(dms, limited=False)
    out = {
        "bench": "fanout",
        "baseline_bare_posts": base,
        "limit_off": open_run,
        "warm_ratio_vs_baseline": round(open_run["warm"]["dms_per_s"] / base["posts_per_s"], 3),
    }
    if not skip_limited:
        out["limit_on"] = await fan_out(dms, limited=True)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dms", type=int, default=300)
    parser.add_argument("--skip-limited", action="store_true", help="skip the ~50 s rate-limited run")
    args = parser.parse_args()
    r = asyncio.run(main(args.dms, args.skip_limited))
    base = r["baseline_bare_posts"]
    print(
        f"baseline: {base['posts']} bare POST /api/v4/posts in {base['seconds']} s = {base['posts_per_s']}/s"
    )
    for name in ("limit_off", "limit_on"):
        for phase in ("cold", "warm"):
            run = r.get(name, {}).get(phase)
            if run is None:
                continue
            line = (
                f"{name} {phase}: {run['delivered']} DMs in {run['seconds']} s = {run['dms_per_s']} DMs/s, "
                f"{run['duplicates']} duplicates, {run['requests']} requests ({run['429s']} answered 429)"
            )
            if "vs_limit" in run:
                line += f"; the limit allows {run['limit_allows_s']} s -> {run['vs_limit']} x"
            print(line)
    print(json.dumps(r))
