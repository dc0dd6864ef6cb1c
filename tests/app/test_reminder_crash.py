"""Issue #4 acceptance with real processes: `kill -9` the bot just before a reminder fires.

The reminder is "2 h before the Tuesday-noon question deadline": Tue 23 Oct 2018 10:00
CEST, grace 1 h. Process A runs from 09:59:45 (pretended) and is killed before 10:00.
Started again 10 min later, the bot sends it once, late; started after the grace period,
it does not send it, and the skip is logged and shown in `/idl remind log`.
The processes' clocks are set with `idlbot run --pretend-now`; the test waits for real
process events (startup, a delivery), never for the reminder's own time logic."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import SqlOutbox
from tests.app.conftest import Harness, drained, eventually, make_harness, register
from tests.app.test_crash import spawn_bot
from tests.support.configfile import free_port, write_config

KEY = "rem:questions:2018-10-23:-2h"


async def healthy(port: int) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


def sent(h: Harness) -> list[dict[str, object]]:
    channel = h.channel(h.settings.mattermost.channels["questions"])
    return [p for p in h.bot_posts(channel) if p["props"].get(KEY_PROP) == KEY]


@pytest.mark.timeout(150)
@pytest.mark.parametrize(("restart_at", "expect_sent"), [("10:10:00", True), ("11:30:00", False)])
async def test_kill_9_before_a_reminder_then_restart(
    db_url: str, tmp_path: Path, restart_at: str, expect_sent: bool
) -> None:
    h = await make_harness(db_url)
    try:
        port = free_port()
        config = write_config(
            tmp_path / "bot.toml",
            mattermost_url=h.sim.url,
            database_url=db_url,
            port=port,
            gitlab_url="http://127.0.0.1:9",
        )
        await register(h, f"http://127.0.0.1:{port}")
        env = {
            **os.environ,
            "IDLBOT_MATTERMOST_TOKEN": h.settings.secrets.mattermost_token or "",
            "IDLBOT_SLASH_TOKEN": h.settings.secrets.slash_token or "",
        }
        log = tmp_path / "bot.log"
        first = await spawn_bot(config, env, log, "--pretend-now", "2018-10-23T09:59:45+02:00")
        try:
            await eventually(lambda: healthy(port), timeout=30, what="the bot to come up")
        finally:
            first.send_signal(signal.SIGKILL)  # before 10:00 on its clock
            await first.wait()
        assert sent(h) == []
        second = await spawn_bot(config, env, log, "--pretend-now", f"2018-10-23T{restart_at}+02:00")
        try:
            await eventually(lambda: healthy(port), timeout=30, what="the bot to come up again")
            if expect_sent:
                await eventually(lambda: len(sent(h)) >= 1, timeout=20, what="the late reminder")
                engine = create_engine(db_url)
                try:  # every row sent: a second copy would have been posted by now
                    await drained(SqlOutbox(sessionmaker(engine)))
                finally:
                    await engine.dispose()
                assert len(sent(h)) == 1
                assert "2 h" in str(sent(h)[0]["message"]) or "12:00" in str(sent(h)[0]["message"])

            seen: list[str] = []

            async def decided() -> bool:
                """The firing's line in `/idl remind log` once its state is decided (not
                "planned" or "claimed"; CI once read "claimed" here)."""
                reply = await h.slash("sstober", "/idl remind log")
                lines = str(reply["text"]).splitlines()
                seen[:] = [x for x in lines if "questions" in x and "23 Oct" in x and "10:00" in x]
                return bool(seen) and not any(state in seen[0] for state in ("planned", "claimed"))

            try:
                await eventually(decided, timeout=20, what="the firing decided in /idl remind log")
            except AssertionError as err:
                raise AssertionError(f"{err}; its line: {seen}") from None
            if expect_sent:
                assert "late" in seen[0], seen
            else:
                assert "skip" in seen[0], seen
                assert sent(h) == []
                skip_logged = lambda: KEY in log.read_text() and "skipped" in log.read_text()  # noqa: E731
                await eventually(skip_logged, what="the skip in the log (written after it is stored)")
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 20)
    finally:
        await h.close()
