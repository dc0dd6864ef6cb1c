"""Two real `idlbot run` replicas on one PostgreSQL, against the Mattermost simulator.

Both answer slash commands; each singleton pass is held by exactly one of them (their
/healthz); replica "a" is killed with `kill -9` while it holds every lease and is in the
middle of sending a batch of 80 posts; "b" takes the leases over within the TTL plus a
renewal, and the posts arrive exactly once. The TTL is shrunk to 2 s (`IDLBOT_LEASE_TTL`)
so the test takes seconds; the time to take over is printed (run with -s to see it).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.clock import SystemClock
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import SqlOutbox
from tests.app.conftest import Harness, drained, eventually, make_harness, slash_form
from tests.app.test_crash import spawn_bot
from tests.support.configfile import free_port, write_config

TTL = 2.0
POSTS = 80


async def health(port: int) -> dict[str, Any] | None:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
            body: dict[str, Any] = await resp.json()
            return body if resp.status == 200 else None
    except (aiohttp.ClientError, ValueError):
        return None


async def leases(port: int) -> set[str] | None:
    body = await health(port)
    return None if body is None else set(body["replica"]["leases"])


async def holds_every_pass(port: int) -> set[str] | None:
    body = await health(port)
    if body is None:
        return None
    held, passes = set(body["replica"]["leases"]), set(body["replica"]["passes"])
    return held if held == passes else None


async def slash_answer(h: Harness, port: int) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/mattermost/command", data=slash_form(h)) as resp,
    ):
        assert resp.status == 200
        return str((await resp.json())["text"])


@pytest.mark.timeout(120)
async def test_two_replicas_share_the_work_and_survive_a_kill_9(postgres_db_url: str, tmp_path: Path) -> None:
    db_url = postgres_db_url
    h = await make_harness(db_url)
    engine = create_engine(db_url)
    procs: list[asyncio.subprocess.Process] = []
    log = tmp_path / "bots.log"
    try:
        channel, bot_id = h.channel("town-square"), h.uid("idlbot")
        outbox = SqlOutbox(sessionmaker(engine))
        now = SystemClock().now()
        for i in range(POSTS):
            await outbox.enqueue(key=f"bulk:{i:03d}", message=f"bulk {i}", now=now, channel_id=channel)
        h.sim.faults.latency = 0.1  # a's batch takes ~8 s: b starts and a is killed mid-batch

        def delivered() -> Counter[str]:
            return Counter(
                str(p["props"].get(KEY_PROP)) for p in h.sim.posts_in(channel) if p["user_id"] == bot_id
            )

        ports = {"a": free_port(), "b": free_port()}
        env = {
            **os.environ,
            "IDLBOT_MATTERMOST_TOKEN": h.settings.secrets.mattermost_token or "",
            "IDLBOT_SLASH_TOKEN": h.settings.secrets.slash_token or "",
            "IDLBOT_LEASE_TTL": str(TTL),
        }

        async def start(name: str) -> asyncio.subprocess.Process:
            config = write_config(
                tmp_path / f"{name}.toml", mattermost_url=h.sim.url, database_url=db_url, port=ports[name]
            )
            return await start_replica(name, config, env, ports[name], log, procs)

        a = await start("a")
        every = await eventually(lambda: holds_every_pass(ports["a"]), timeout=10, what="a's leases")
        assert {"announcements", "failure notices", "pruning", "exclusion notices"} <= every
        await eventually(lambda: len(delivered()) >= 5, timeout=20, what="a delivering")
        await start("b")
        # both serve slash commands (a load balancer may send each request to either)
        for port in ports.values():
            assert "alice" in await slash_answer(h, port)
        # each singleton pass is held by exactly one replica: a got them all first
        held_a, held_b = await leases(ports["a"]), await leases(ports["b"])
        assert held_a == every and held_b == set(), (held_a, held_b)
        body = await health(ports["b"])
        assert body is not None and body["replica"]["id"] == "b"
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{ports['a']}/metrics") as resp,
        ):
            metrics = await resp.text()
        assert 'idlbot_lease_held{name="announcements",replica="a"} 1.0' in metrics
        partial = len(delivered())
        assert partial < POSTS, "a finished its batch before the kill; raise the latency"

        loop = asyncio.get_running_loop()
        a.send_signal(signal.SIGKILL)
        await a.wait()
        killed = loop.time()
        await eventually(lambda: holds_all(ports["b"], every), timeout=30, what="b taking over")
        takeover = loop.time() - killed
        print(f"\nleases taken over {takeover:.2f} s after kill -9 (TTL {TTL} s); {partial} posts before")
        assert takeover <= TTL + TTL / 4 + 2.0  # TTL + one renewal, and polling slack

        await eventually(lambda: len(delivered()) == POSTS, timeout=40, what=f"all {POSTS} posts")
        await drained(outbox)  # every row sent: a duplicate would be in the simulator by now
        counts = delivered()
        assert len(counts) == POSTS and set(counts.values()) == {1}, counts.most_common(3)
    finally:
        await stop_all(procs)
        await engine.dispose()
        await h.close()
    assert procs[1].returncode == 0, log.read_text()[-2000:]


async def start_replica(
    name: str,
    config: Path,
    env: dict[str, str],
    port: int,
    log: Path,
    procs: list[asyncio.subprocess.Process],
) -> asyncio.subprocess.Process:
    """`idlbot run` as replica `name` (its `IDLBOT_REPLICA_ID`), once its /healthz answers;
    kept in `procs` for `stop_all`. One that exits instead fails with the log's tail."""
    proc = await spawn_bot(config, {**env, "IDLBOT_REPLICA_ID": name}, log)
    procs.append(proc)
    try:
        await eventually(lambda: health(port), timeout=30, what=f"replica {name} up")
    except AssertionError:
        raise AssertionError(f"replica {name} exited {proc.returncode}: {_tail(log)}") from None
    return proc


def _tail(log: Path) -> str:
    """Read once, when a replica failed to start (not worth a thread)."""
    return log.read_text()[-3000:]


async def stop_all(procs: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM each replica still running (a clean stop), SIGKILL one that hangs."""
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()


async def holds_all(port: int, names: set[str]) -> bool:
    return await leases(port) == names
