"""The real `idlbot run` starts in ≤ 1.5 s and stops within a second of SIGTERM, also right
after start (its start-up GitLab reconciliation still waiting on a GitLab that does not
answer) and while posts are being delivered, and no outbox row is lost by stopping.

Measured from outside, as an operator (systemd, a deploy script) meets it. The bounds are
generous for a loaded 2-core CI machine (1.5 s for a goal of 1 s); the old stop took 3.3 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.clock import SystemClock
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import SqlOutbox
from tests.app.conftest import Harness, drained, eventually, make_harness
from tests.app.test_crash import spawn_bot
from tests.support.configfile import free_port, write_config

STOP_BOUND = 1.5
START_BOUND = 5.0  # interpreter start and imports included; the goal (1.5 s) is reported, not timed


async def _ready(port: int) -> bool:
    """/healthz says the websocket is connected: the bot is fully up."""
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=1)) as r,
        ):
            body = await r.json()
            return bool(body["websocket"]["connected"])
    except (TimeoutError, aiohttp.ClientError):
        return False


class HangingGitLab:
    """A GitLab that accepts connections and never answers: each call waits out the
    request timeout and python-gitlab retries it, as with an overloaded or unreachable server."""

    def __init__(self) -> None:
        self.held: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.held.append(writer)

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    def close(self) -> None:
        for writer in self.held:
            writer.close()
        if self.server is not None:
            self.server.close()


async def _stop(proc: asyncio.subprocess.Process) -> float:
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()  # never leave it running
        await proc.wait()
        raise AssertionError("the bot was still running 20 s after SIGTERM") from None
    return time.monotonic() - began


def _env(h: Harness) -> dict[str, str]:
    return {
        **os.environ,
        "IDLBOT_MATTERMOST_TOKEN": h.settings.secrets.mattermost_token or "",
        "IDLBOT_SLASH_TOKEN": h.settings.secrets.slash_token or "",
    }


async def _spawn_ready(config: Path, env: dict[str, str], log: Path, port: int) -> asyncio.subprocess.Process:
    """`idlbot run`, once its websocket is connected (killed, with its log, if it never is)."""
    bot = await spawn_bot(config, env, log)
    try:
        await eventually(lambda: _ready(port), timeout=START_BOUND + 10, what="the bot to be ready")
    except AssertionError:
        bot.kill()
        tail = log.read_text()[-3000:]  # noqa: ASYNC240 - a failure message, once
        raise AssertionError(f"bot not ready: {tail}") from None
    return bot


@pytest.mark.timeout(120)
async def test_sigterm_right_after_start_and_while_delivering(db_url: str, tmp_path: Path) -> None:
    h = await make_harness(db_url)
    engine = create_engine(db_url)
    gitlab = HangingGitLab()
    gitlab_url = await gitlab.start()
    try:
        channel = h.channel("town-square")
        outbox = SqlOutbox(sessionmaker(engine))
        port = free_port()
        config = write_config(
            tmp_path / "idlbot.toml",
            mattermost_url=h.sim.url,
            database_url=db_url,
            port=port,
            gitlab_url=gitlab_url,
        )
        env = _env(h)
        log = tmp_path / "bot.log"

        # 1. right after start: ready, then SIGTERM at once
        began = time.monotonic()
        bot = await _spawn_ready(config, env, log, port)
        startup = time.monotonic() - began
        stopped_in = await _stop(bot)
        print(f"startup {startup:.2f} s, stop right after start {stopped_in:.2f} s")
        assert bot.returncode == 0, log.read_text()[-3000:]
        assert stopped_in <= STOP_BOUND, f"stop took {stopped_in:.2f} s"
        assert startup <= START_BOUND, f"startup took {startup:.2f} s"

        # 2. while delivering: 60 posts, a slow server; stop in the middle, then finish
        now = SystemClock().now()
        for i in range(60):
            await outbox.enqueue(key=f"stop:{i:02d}", message=f"post {i}", now=now, channel_id=channel)
        h.sim.faults.latency = 0.05
        bot_id = h.uid("idlbot")

        def delivered() -> Counter[str]:
            return Counter(
                str(p["props"].get(KEY_PROP)) for p in h.sim.posts_in(channel) if p["user_id"] == bot_id
            )

        bot = await spawn_bot(config, env, log)
        try:
            await eventually(lambda: len(delivered()) >= 5, timeout=30, what="5 deliveries")
        except AssertionError:
            bot.kill()
            raise
        stopped_in = await _stop(bot)
        print(f"stop while delivering {stopped_in:.2f} s, {len(delivered())} of 60 delivered")
        assert bot.returncode == 0, log.read_text()[-3000:]
        assert stopped_in <= STOP_BOUND, f"stop took {stopped_in:.2f} s"
        assert len(delivered()) < 60, "all delivered before the stop; raise the latency"

        h.sim.faults.latency = 0.0
        bot = await spawn_bot(config, env, log)
        try:
            await eventually(lambda: len(delivered()) == 60, timeout=30, what="all 60 posts")
            await drained(outbox)
        finally:
            await _stop(bot)
        counts = delivered()
        assert len(counts) == 60 and set(counts.values()) == {1}, counts.most_common(3)
    finally:
        gitlab.close()
        await engine.dispose()
        await h.sim.stop()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_sigterm_while_another_process_holds_the_sqlite_write_lock(db_url: str, tmp_path: Path) -> None:
    """Another process writing (`idlbot roster import`, `migrate`) holds SQLite's write lock:
    the stop's own writes (leases, re-sync cursors, claims) must not each wait out the
    10 s busy timeout; in CI a stop met a held lock and took over 30 s. What they could
    not write is safe to leave: the claims expire, the cursors re-sync, and a restart
    once the lock is free delivers what was pending, once."""
    h = await make_harness(db_url)
    engine = create_engine(db_url)
    try:
        channel = h.channel("town-square")
        outbox = SqlOutbox(sessionmaker(engine))
        port = free_port()
        config = write_config(
            tmp_path / "idlbot.toml", mattermost_url=h.sim.url, database_url=db_url, port=port
        )
        env = _env(h)
        log = tmp_path / "bot.log"
        bot = await _spawn_ready(config, env, log, port)
        holder = sqlite3.connect(db_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # the other process's write transaction
            stopped_in = await _stop(bot)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        print(f"stop with the write lock held elsewhere {stopped_in:.2f} s")
        assert bot.returncode == 0, log.read_text()[-3000:]
        assert stopped_in <= STOP_BOUND, f"stop took {stopped_in:.2f} s: {log.read_text()[-2000:]}"
        assert '"level": "error"' not in log.read_text(), log.read_text()[-3000:]  # warnings, no traceback

        await outbox.enqueue(
            key="after-lock", message="still delivered", now=SystemClock().now(), channel_id=channel
        )
        bot = await spawn_bot(config, env, log)
        try:
            await drained(outbox, timeout=30)
        finally:
            await _stop(bot)
        posts = [p for p in h.sim.posts_in(channel) if p["props"].get(KEY_PROP) == "after-lock"]
        assert len(posts) == 1
    finally:
        await engine.dispose()
        await h.sim.stop()
