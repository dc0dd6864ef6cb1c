"""Nothing blocks the event loop: overviews are drawn off it, and `/healthz` answers
from what the bot holds plus a database probe that busy commands cannot starve.

No assertion here is on speed. The loop-lag probe measures the longest gap between
ticks of a coroutine that asks to run every 10 ms. It is a guard against gross stalls
only (a chart drawn on the loop itself, the first import of matplotlib there): its bound
is 1 s because on this shared 2-core machine, at a load average of 5, a run with the
charts drawn in the worker process still saw one 0.43 s gap (the test process waiting
for a core), while drawing in a thread (which holds the GIL) gave 0.11 to 0.38 s.
That the chart is drawn in another process is therefore checked structurally, on the
real `idlbot run` process: after six overviews, none of matplotlib's compiled modules
is mapped into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.app.conftest import Harness, eventually, make_harness, register
from tests.app.test_crash import spawn_bot
from tests.support.configfile import free_port, write_config

TICK = 0.01
MAX_GAP = 1.0
OVERVIEWS = 6


class LoopLag:
    """The longest time the event loop went without running a 10 ms ticker."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self.ticks = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(TICK)
            now = loop.time()
            self.max_gap = max(self.max_gap, now - last)
            self.ticks += 1
            last = now


@contextlib.asynccontextmanager
async def measuring() -> AsyncIterator[LoopLag]:
    lag = LoopLag()
    task = asyncio.ensure_future(lag.run())
    await asyncio.sleep(TICK * 3)
    try:
        yield lag
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def ask_overviews(h: Harness) -> asyncio.Future[list[str]]:
    """`OVERVIEWS` concurrent `/idl overview`, half by each instructor."""
    asks = (h.answer("jens" if i % 2 else "sstober", "/idl overview", timeout=60) for i in range(OVERVIEWS))
    return asyncio.gather(*asks)


async def poll_healthz(url: str, until: asyncio.Future[object]) -> list[int]:
    """GET /healthz back to back until `until` is done; every status seen."""
    statuses: list[int] = []
    async with aiohttp.ClientSession() as http:
        while not until.done() or not statuses:
            async with http.get(url) as resp:
                statuses.append(resp.status)
    return statuses


async def test_overviews_do_not_stall_the_loop_or_healthz(harness: Harness) -> None:
    healthz = f"http://127.0.0.1:{harness.bot.port}/healthz"
    chart = harness.bot.chart

    async def all_drawn() -> list[str]:
        replies = await ask_overviews(harness)
        # an answer may arrive later, via response_url, so wait for the drawings themselves
        answered = lambda: chart.renders + chart.reused == OVERVIEWS  # noqa: E731 - a drawing may be reused
        await eventually(answered, timeout=60, what="all charts drawn")
        return replies

    async with measuring() as lag:
        overviews = asyncio.ensure_future(all_drawn())
        statuses = await poll_healthz(healthz, overviews)
        replies = await overviews
    assert all("is on its way to your DM." in r and "without the chart" not in r for r in replies), replies
    assert statuses and set(statuses) == {200}, statuses
    assert lag.max_gap < MAX_GAP, f"the event loop stalled for {lag.max_gap:.3f} s ({lag.ticks} ticks)"

    def with_chart(user: str) -> int:
        dm = harness.dm_channel(user)
        return sum(1 for p in harness.bot_posts(dm) if (p.get("metadata") or {}).get("files"))

    # a reply is queued just after its drawing is counted, so wait for the posts themselves
    def all_posted() -> bool:
        return all(with_chart(user) == OVERVIEWS // 2 for user in ("jens", "sstober"))

    await eventually(all_posted, timeout=30, what="every chart posted")
    await harness.drained(timeout=30)
    assert [with_chart(user) for user in ("jens", "sstober")] == [OVERVIEWS // 2] * 2


async def test_healthz_is_not_starved_by_an_exhausted_pool(harness: Harness) -> None:
    """Every connection of the bot's pool is taken (one of them mid-transaction, holding
    SQLite's write lock): commands would wait, but `/healthz` still reads the database."""
    engine = harness.bot.engine
    held: list[AsyncConnection] = []
    try:
        capacity = engine.pool.size() + max(0, getattr(engine.pool, "_max_overflow", 0))
        for _ in range(capacity):
            held.append(await engine.connect())
        await held[0].begin()
        await held[0].exec_driver_sql("UPDATE outbox SET attempts = attempts WHERE 1 = 0")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{harness.bot.port}/healthz") as resp,
        ):
            body = await resp.json()
        assert resp.status == 200, body
        assert body["database"]["reachable"] is True
    finally:
        for conn in held:
            await conn.close()


async def test_a_flood_of_polls_reads_the_database_once(harness: Harness) -> None:
    health = harness.bot.health
    url = f"http://127.0.0.1:{harness.bot.port}/healthz"
    before = health.probes

    async def one(http: aiohttp.ClientSession) -> int:
        async with http.get(url) as resp:
            return resp.status

    async with aiohttp.ClientSession() as http:
        statuses = await asyncio.gather(*(one(http) for _ in range(50)))
    assert set(statuses) == {200}
    assert health.probes - before <= 2  # one reading, or two if the cached one expired meanwhile


def mapped_matplotlib(pid: int) -> list[str]:
    """matplotlib's shared libraries (ft2font, _path, ...) loaded into process `pid`."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted({line.split()[-1] for line in maps.splitlines() if "/matplotlib/" in line})


async def healthy(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/PID/maps (Linux)")
@pytest.mark.timeout(120)
async def test_the_bot_process_never_loads_matplotlib(db_url: str, tmp_path: Path) -> None:
    h = await make_harness(db_url)
    port = free_port()
    config = write_config(tmp_path / "idlbot.toml", mattermost_url=h.sim.url, database_url=db_url, port=port)
    env = {
        **os.environ,
        "IDLBOT_MATTERMOST_TOKEN": h.settings.secrets.mattermost_token or "",
        "IDLBOT_SLASH_TOKEN": h.settings.secrets.slash_token or "",
    }
    log = tmp_path / "bot.log"
    bot = await spawn_bot(config, env, log)
    try:
        healthz = f"http://127.0.0.1:{port}/healthz"
        await eventually(lambda: healthy(healthz), timeout=30, what=f"the bot's /healthz ({log})")
        await register(h, f"http://127.0.0.1:{port}")
        overviews = ask_overviews(h)
        statuses = await poll_healthz(healthz, overviews)
        replies = await overviews
        assert all("without the chart" not in r for r in replies), replies
        assert set(statuses) == {200}, statuses
        dms = [h.dm_channel("jens"), h.dm_channel("sstober")]

        def charts() -> list[object]:
            return [p for dm in dms for p in h.bot_posts(dm) if (p.get("metadata") or {}).get("files")]

        await eventually(lambda: len(charts()) == OVERVIEWS, timeout=60, what="the charts in the DMs")
        assert mapped_matplotlib(bot.pid) == [], "matplotlib was loaded into the bot's own process"
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 30)
        await h.sim.stop()
    assert bot.returncode == 0, log.read_text()[-2000:]  # the renderer pool shut down cleanly
