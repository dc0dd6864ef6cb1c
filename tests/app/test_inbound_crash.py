"""`kill -9` the real `idlbot run` process while it computes six DM replies, start it
again: every DM is answered exactly once. The user lookup each reply needs is slowed to
1 s in the simulator, so at the kill (0.6 s after the DMs) no reply is queued yet; the
cursor must not have passed the posts, or the restart's re-sync skips them."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import SqlOutbox
from tests.app.conftest import Harness, drained, eventually, make_harness
from tests.app.test_crash import spawn_bot
from tests.app.test_reminder_crash import healthy
from tests.support.configfile import free_port, write_config

USERS = ("alice", "bob", "carol", "tutor1", "tutor2", "tutor3")
SLOW_LOOKUP = "GET /api/v4/users/{user_id}"


def answers(h: Harness, posts: dict[str, str]) -> Counter[str]:
    """How many bot posts answer each DM (by its outbox key), per username."""
    counts: Counter[str] = Counter()
    for name, post_id in posts.items():
        for p in h.bot_posts(h.dm_channel(name)):
            if p["props"].get(KEY_PROP) == f"reply:{post_id}":
                counts[name] += 1
    return counts


@pytest.mark.timeout(60)
async def test_kill_9_while_six_dm_replies_are_computed_answers_each_once(
    db_url: str, tmp_path: Path
) -> None:
    h = await make_harness(db_url)
    engine = create_engine(db_url)
    try:
        port = free_port()
        config = write_config(tmp_path / "bot.toml", mattermost_url=h.sim.url, database_url=db_url, port=port)
        env = {**os.environ, "IDLBOT_MATTERMOST_TOKEN": h.settings.secrets.mattermost_token or "",
               "IDLBOT_SLASH_TOKEN": h.settings.secrets.slash_token or ""}  # fmt: skip
        log = tmp_path / "bot.log"
        for name in USERS:
            h.dm_channel(name)  # the DM channels exist before the bot starts, as after any chat
        first = await spawn_bot(config, env, log)
        try:
            await eventually(lambda: healthy(port), timeout=20, what="the bot to come up")
            h.sim.faults.route_latency[SLOW_LOOKUP] = 1.0
            posts = {}
            for name in USERS:
                posted = await h.sim.user_post(h.uid(name), h.dm_channel(name), "whoami")
                posts[name] = str(posted["id"])
            await asyncio.sleep(0.6)  # process timing, not time logic: the kill lands mid-reply
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert answers(h, posts) == Counter(), "the bot answered before the kill; raise the latency"
        second = await spawn_bot(config, env, log)
        try:
            try:
                await eventually(lambda: len(answers(h, posts)) == len(USERS), timeout=20, what="six answers")
            except AssertionError as err:
                raise AssertionError(f"{err}; answered: {dict(answers(h, posts))}") from None
            await drained(SqlOutbox(sessionmaker(engine)))  # a second copy would be posted by now
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 20)
        assert answers(h, posts) == Counter(dict.fromkeys(USERS, 1))
        for name in USERS:  # and nothing else: one bot post per DM channel
            assert len(h.bot_posts(h.dm_channel(name))) == 1, name
    finally:
        await engine.dispose()
        await h.sim.stop()
