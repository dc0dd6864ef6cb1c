"""The bot keeps talking through drops, outages and server errors (issue #2 acceptance).

These tests wait on real network events (a reconnect, a delivery) with deadlines. The
long outage lasts until the reconnect backoff has reached its cap, observed, rather than
a fixed 60 s: see its docstring for why that is the same scenario."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from dataclasses import replace

import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.app import Tuning
from tests.app.conftest import Harness, eventually, make_harness


def keys_in(h: Harness, channel_id: str) -> Counter[str]:
    return Counter(str(p["props"].get(KEY_PROP)) for p in h.bot_posts(channel_id))


@pytest.mark.parametrize("drop", ["1000", "1001", "1006", "tcp-reset"])
async def test_reconnects_within_5s_after_a_drop_and_answers(harness: Harness, drop: str) -> None:
    ws = harness.bot.websocket
    assert ws is not None
    before = ws.reconnects
    loop = asyncio.get_running_loop()
    started = loop.time()
    if drop == "tcp-reset":
        await harness.sim.faults.tcp_reset_websockets()
    else:
        await harness.sim.faults.drop_websockets(int(drop))
    await eventually(lambda: ws.reconnects > before and ws.connected, timeout=5.0, what="reconnect")
    assert loop.time() - started < 5.0
    assert (await harness.dm("alice", "whoami")).startswith("You are @alice")


async def test_watchdog_reconnects_a_silent_socket(db_url: str) -> None:
    # the server would ping every 60 s; the bot expects one every 0.25 s, so the
    # socket looks dead after 0.5 s of silence and is replaced
    h = await make_harness(db_url, ping_interval=0.25, sim_ping=60.0)
    try:
        await h.start_bot()
        ws = h.bot.websocket
        assert ws is not None
        await eventually(lambda: ws.reconnects >= 1, timeout=5.0, what="watchdog reconnect")
        assert "watchdog" in (ws.last_error or "")
    finally:
        while h.bots:
            await h.stop_bot()
        await h.sim.stop()


async def test_dms_posted_while_disconnected_are_answered_after_reconnect(harness: Harness) -> None:
    ws = harness.bot.websocket
    assert ws is not None
    harness.sim.faults.reject_websocket_auth(True)
    await harness.sim.faults.drop_websockets(1006)
    await eventually(lambda: not ws.connected, what="disconnect")
    post = await harness.sim.user_post(harness.uid("alice"), harness.dm_channel("alice"), "whoami")
    harness.sim.faults.reject_websocket_auth(False)
    reply = await harness.reply_to(post, harness.dm_channel("alice"), timeout=10.0)
    assert reply.startswith("You are @alice")


async def test_server_errors_and_429_are_retried_and_posted_once(harness: Harness) -> None:
    channel = harness.channel("assignments")
    harness.sim.faults.fail_next(3, status=503)
    now = harness.bot.clock.now()
    for i in range(5):
        await harness.bot.outbox.enqueue(key=f"t:{i}", message=f"post {i}", now=now, channel_id=channel)
    harness.bot.worker.wake()
    await eventually(lambda: len(keys_in(harness, channel)) == 5, timeout=10, what="5 posts")
    harness.sim.faults.set_rate_limit(20, burst=5)
    for i in range(5, 40):
        await harness.bot.outbox.enqueue(key=f"t:{i}", message=f"post {i}", now=now, channel_id=channel)
    harness.bot.worker.wake()
    await eventually(lambda: len(keys_in(harness, channel)) == 40, timeout=20, what="40 posts")
    harness.sim.faults.set_rate_limit(None)
    counts = keys_in(harness, channel)
    assert set(counts.values()) == {1}
    # posts to one channel keep their order
    messages = [p["message"] for p in harness.bot_posts(channel)]
    assert messages == [f"post {i}" for i in range(40)]


async def test_post_in_flight_at_a_crash_is_not_sent_twice(harness: Harness) -> None:
    """The server got the post, the bot died before recording it: the next bot finds
    the post by its key instead of sending it again."""
    channel = harness.channel("assignments")
    bot = harness.bot
    await bot.worker.stop()
    now = bot.clock.now()
    await bot.outbox.enqueue(key="crash:1", message="exactly once", now=now, channel_id=channel)
    [item] = await bot.outbox.claim_due(now, limit=10)
    await bot.chat.create_post(channel, item.message, key=item.key)  # reached the server...
    await harness.stop_bot()  # ...but was never marked sent
    await harness.start_bot()
    await eventually(lambda: harness.bot.outbox.get("crash:1"), what="row")

    async def sent() -> bool:
        row = await harness.bot.outbox.get("crash:1")
        return row is not None and row.state == "sent"

    await eventually(sent, timeout=10, what="the row to be marked sent")
    assert keys_in(harness, channel)["crash:1"] == 1


async def test_websocket_auth_failure_is_loud_and_slow(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ws = harness.bot.websocket
    assert ws is not None
    with caplog.at_level(logging.ERROR, logger="idlbot.adapters.mattermost.websocket"):
        harness.sim.revoke_token(harness.info["tokens"]["idlbot"])
        await harness.sim.faults.drop_websockets(1001)
        await eventually(lambda: ws.auth_failures >= 1, timeout=5, what="auth failure")
        attempts = ws.auth_failures
        await asyncio.sleep(1.5)  # a real-time window: counting attempts IS the test
    assert ws.auth_failures - attempts <= 2  # auth_retry is 1 s here: no hot loop
    assert "authentication FAILED" in caplog.text
    assert harness.info["tokens"]["idlbot"] not in caplog.text


async def test_long_outage_then_reconnect_within_twice_the_backoff_cap_and_deliver_once(db_url: str) -> None:
    """Acceptance: Mattermost down 60 s, the bot back within 30 s of its restart, and what
    was queued meanwhile delivered once. The 60 s is not the point: it is what production's
    backoff (0.5 s, doubling) needs to reach its 15 s cap, and from then on a longer outage
    leaves the supervisor in the same state. What makes "within 30 s" hold is the cap: the
    reconnect comes at the end of the capped pause in progress at the restart.

    So the production numbers are checked as numbers (cap x 2 <= 30 s), and the scenario
    runs with the reconnect backoff scaled down 10x (0.05 s doubling, cap 1.5 s; the outbox
    keeps production's): the outage lasts until the supervisor's pause is at the cap, which
    is watched (its failed attempts), not waited out, and the reconnect must come within
    2 x 1.5 s. About 3 s instead of 61-72 s."""
    production = Tuning()
    assert production.ws_backoff_cap * 2 <= 30
    tuning = replace(production, ws_backoff_base=0.05, ws_backoff_cap=1.5, outbox_poll=0.2)
    # the pause after failed attempt n has the ceiling min(cap, base * 2**(n - 1))
    at_cap = 1 + math.ceil(math.log2(tuning.ws_backoff_cap / tuning.ws_backoff_base))
    h = await make_harness(db_url, tuning=tuning)
    try:
        bot = await h.start_bot()
        ws = bot.websocket
        assert ws is not None
        channel = h.channel("town-square")
        await h.sim.stop()
        await eventually(lambda: not ws.connected, what="disconnect")
        now = bot.clock.now()
        for i in range(10):
            await bot.outbox.enqueue(key=f"outage:{i}", message=f"queued {i}", now=now, channel_id=channel)
        bot.worker.wake()
        await eventually(lambda: ws.failed_attempts >= at_cap, timeout=10, what="the backoff at its cap")
        loop = asyncio.get_running_loop()
        await h.sim.restart()
        restarted = loop.time()
        await eventually(lambda: ws.connected, timeout=10, what="the reconnect")
        reconnect_after = loop.time() - restarted
        await eventually(lambda: len(keys_in(h, channel)) == 10, timeout=30, what="10 queued posts")
        await h.drained()
        assert set(keys_in(h, channel).values()) == {1}
        assert reconnect_after < 2 * tuning.ws_backoff_cap
        logging.getLogger(__name__).info("reconnected %.1f s after the restart", reconnect_after)
    finally:
        while h.bots:
            await h.stop_bot()
        await h.sim.stop()
