"""MattermostChat against the simulator: what it returns is parsed, typed values."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from idlbot.adapters.mattermost.rest import KEY_PROP, MattermostChat
from idlbot.domain.chat import MattermostUser, UserTimezone
from tests.sim.conftest import sim, world
from tests.sim.support import World

__all__ = ["sim", "world"]


@pytest.fixture
async def chat(world: World) -> AsyncIterator[MattermostChat]:
    client = MattermostChat(world.sim.url, world.bot_token, team=world.team["name"], timeout=5.0)
    try:
        yield client
    finally:
        await client.close()


async def test_login_and_lookups_return_users(chat: MattermostChat, world: World) -> None:
    me = await chat.login()
    assert me == MattermostUser(world.bot["id"], "idlbot", UserTimezone(True, "Europe/Berlin", ""))
    assert (chat.bot_user_id, chat.bot_username) == (me.id, "idlbot")
    alice = await chat.user(world.alice["id"])
    assert (alice.username, alice.timezone) == ("alice", UserTimezone(True, "Europe/Berlin", ""))
    assert await chat.user_by_username("bob") == await chat.user(world.bob["id"])
    assert await chat.user_id("@alice") == world.alice["id"]
    assert await chat.user_id("nobody") is None


async def test_posts_since_are_posts_oldest_first(chat: MattermostChat, world: World) -> None:
    await chat.login()
    dm = world.sim.direct_channel(world.bot["id"], world.alice["id"])["id"]
    first = await world.sim.user_post(world.alice["id"], dm, "@idlbot help")
    world.sim.advance_time(1)
    second = await world.sim.user_post(world.alice["id"], dm, "whoami", root_id=first["id"])
    world.sim.advance_time(1)
    ours = await chat.create_post(dm, "Hi.", key="reply:x")
    posts = await chat.posts_since(dm, first["create_at"] - 1)
    assert [p.id for p in posts] == [first["id"], second["id"], ours]
    assert (posts[1].user_id, posts[1].channel_id, posts[1].message, posts[1].root_id) == (
        world.alice["id"], dm, "whoami", first["id"],
    )  # fmt: skip
    assert posts[2].props[KEY_PROP] == "reply:x"
    assert await chat.find_post_with_key(dm, "reply:x", first["create_at"] - 1) == ours
    assert await chat.find_post_with_key(dm, "reply:y", first["create_at"] - 1) is None
