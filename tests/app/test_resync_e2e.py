"""The re-sync through the whole bot and the simulator: DMs posted before the bot's very
first start (within `[mattermost] resync_window`, 24 h) and channel @-mentions posted while
the bot was down or its websocket was away are each answered once."""

from __future__ import annotations

from typing import Any

from idlbot.adapters.mattermost.rest import KEY_PROP
from tests.app.conftest import Harness, eventually, make_harness


def backdate(post: dict[str, Any], *, hours: float) -> dict[str, Any]:
    """As if posted `hours` ago (the simulator's clock only moves forward)."""
    post["create_at"] = post["update_at"] = post["create_at"] - int(hours * 3_600_000)
    return post


def replies(h: Harness, post: dict[str, Any], channel_id: str) -> int:
    return sum(1 for p in h.bot_posts(channel_id) if p["props"].get(KEY_PROP) == f"reply:{post['id']}")


async def test_dms_from_before_the_first_start_are_answered_back_to_the_window(db_url: str) -> None:
    h = await make_harness(db_url)
    try:
        too_old = backdate(await h.sim.user_post(h.uid("alice"), h.dm_channel("alice"), "whoami"), hours=25)
        recent = backdate(await h.sim.user_post(h.uid("bob"), h.dm_channel("bob"), "whoami"), hours=23)
        await h.start_bot()  # its first start: no cursor in the database
        assert (await h.reply_to(recent, h.dm_channel("bob"))).startswith("You are @bob")
        await h.bot.inbound.resync()  # type: ignore[union-attr]  # as after a reconnect: nothing new
        await h.drained()
        assert replies(h, recent, h.dm_channel("bob")) == 1
        assert replies(h, too_old, h.dm_channel("alice")) == 0  # older than the window
    finally:
        await h.close()


async def test_a_mention_while_the_bot_is_down_is_answered_once_after_restart(db_url: str) -> None:
    h = await make_harness(db_url)
    try:
        await h.start_bot()
        await h.stop_bot()
        post = await h.sim.user_post(h.uid("carol"), h.channel("questions"), "@idlbot whoami")
        await h.start_bot()
        assert (await h.reply_to(post, h.dm_channel("carol"))).startswith("You are @carol")
        await h.stop_bot()
        await h.start_bot()  # a second restart finds it answered
        await h.drained()
        assert replies(h, post, h.dm_channel("carol")) == 1
    finally:
        await h.close()


async def test_a_mention_during_a_websocket_gap_is_answered_once_after_reconnect(harness: Harness) -> None:
    ws = harness.bot.websocket
    assert ws is not None
    connections = ws.connections
    harness.sim.faults.reject_websocket_auth(True)  # the bot cannot get back in meanwhile
    await harness.sim.faults.drop_websockets(1006)
    await eventually(lambda: not ws.connected, what="the websocket to drop")
    post = await harness.sim.user_post(harness.uid("alice"), harness.channel("town-square"), "@idlbot whoami")
    harness.sim.faults.reject_websocket_auth(False)
    await eventually(lambda: ws.connected and ws.connections > connections, timeout=10, what="reconnect")
    assert (await harness.reply_to(post, harness.dm_channel("alice"))).startswith("You are @alice")
    await harness.bot.inbound.resync()  # type: ignore[union-attr]  # once more: still one answer
    await harness.drained()
    assert replies(harness, post, harness.dm_channel("alice")) == 1


async def test_two_bots_on_one_database_answer_each_dm_and_mention_once(db_url: str) -> None:
    """Both bots get every event and both re-sync on start; the outbox key and the handled
    record still let one answer through per post."""
    h = await make_harness(db_url)
    try:
        before = await h.sim.user_post(h.uid("bob"), h.channel("questions"), "@idlbot whoami")
        await h.start_bot()
        await h.start_bot()
        posts = [(await h.sim.user_post(h.uid(n), h.dm_channel(n), "whoami"), h.dm_channel(n))
                 for n in ("alice", "bob", "carol")]  # fmt: skip
        posts.append((before, h.dm_channel("bob")))
        for post, channel in posts:
            await h.reply_to(post, channel)
        for bot in h.bots:
            await bot.inbound.resync()  # type: ignore[union-attr]
        await h.drained()
        assert [replies(h, post, channel) for post, channel in posts] == [1, 1, 1, 1]
    finally:
        await h.close()
