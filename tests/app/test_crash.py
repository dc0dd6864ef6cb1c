"""`kill -9` the real `idlbot run` process while 100 posts are pending, start it again:
every post arrives exactly once (issue #2 acceptance)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import SqlOutbox
from tests.app.conftest import drained, eventually, make_harness
from tests.support.configfile import free_port, write_config


async def spawn_bot(config: Path, env: dict[str, str], log: Path, *extra: str) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "idlbot", "run", "--config", str(config), *extra,
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip


@pytest.mark.timeout(120)
async def test_kill_9_with_100_pending_posts_delivers_each_once(db_url: str, tmp_path: Path) -> None:
    h = await make_harness(db_url)
    try:
        channel = h.channel("town-square")
        bot_id = h.uid("idlbot")
        engine = create_engine(db_url)
        outbox = SqlOutbox(sessionmaker(engine))
        from idlbot.clock import SystemClock

        now = SystemClock().now()
        for i in range(100):
            await outbox.enqueue(key=f"bulk:{i:03d}", message=f"bulk {i}", now=now, channel_id=channel)
        h.sim.faults.latency = 0.03  # slow enough to kill the bot in the middle
        config = write_config(
            tmp_path / "idlbot.toml", mattermost_url=h.sim.url, database_url=db_url, port=free_port()
        )
        env = {
            **os.environ,
            "IDLBOT_MATTERMOST_TOKEN": h.settings.secrets.mattermost_token or "",
            "IDLBOT_SLASH_TOKEN": h.settings.secrets.slash_token or "",
        }
        log = tmp_path / "bot.log"

        def delivered() -> Counter[str]:
            return Counter(
                str(p["props"].get(KEY_PROP)) for p in h.sim.posts_in(channel) if p["user_id"] == bot_id
            )

        first = await spawn_bot(config, env, log)
        try:
            await eventually(lambda: len(delivered()) >= 20, timeout=30, what="20 deliveries")
        except AssertionError:
            raise AssertionError(f"bot exited {first.returncode}: {log.read_text()[-3000:]}") from None
        finally:
            if first.returncode is None:  # also when the wait above failed: never leave it running
                first.send_signal(signal.SIGKILL)
            await first.wait()
        partial = len(delivered())
        assert partial < 100, "the bot finished before it could be killed; raise the latency"
        second = await spawn_bot(config, env, log)
        try:
            await eventually(lambda: len(delivered()) == 100, timeout=60, what="all 100 posts")
            await drained(outbox)  # every row sent: a duplicate would have been posted by now
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 20)
        counts = delivered()
        assert len(counts) == 100 and set(counts.values()) == {1}, counts.most_common(3)
        assert second.returncode == 0, log.read_text()[-2000:]
        await engine.dispose()
    finally:
        await h.sim.stop()
