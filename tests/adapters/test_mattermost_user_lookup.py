"""`MattermostChat.user` against the simulator: an id that is not of Mattermost's id shape
never reaches a URL, and an unknown id is `UnknownUser`, not the driver's exception.

Before the check, `../users/username/sstober` went into `/api/v4/users/{id}`; the HTTP
client resolved the dot segments and Mattermost answered with the account named in
the path, so whoever forged the id got that account's role. Usernames go into a path
too (`/users/username/{name}`, for DMs), so the same holds for them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.domain.chat import InvalidUserId, UnknownUser, is_user_id
from tests.sim.conftest import sim, world
from tests.sim.support import World

__all__ = ["sim", "world"]

FORGED = [
    "../users/username/bob",
    "me",
    "..",
    "",
    "A" * 26,
    "a" * 25,
    "a" * 27,
    "a" * 25 + "/",
    "a" * 25 + "\n",
]


@pytest.fixture
async def chat(world: World) -> AsyncIterator[MattermostChat]:
    client = MattermostChat(world.sim.url, world.bot_token, team=world.team["name"], timeout=5.0)
    try:
        await client.login()
        yield client
    finally:
        await client.close()


@pytest.mark.parametrize("forged", FORGED)
async def test_an_id_of_another_shape_is_refused_before_any_request(
    chat: MattermostChat, world: World, forged: str
) -> None:
    before = len(world.sim.requests)
    with pytest.raises(InvalidUserId):
        await chat.user(forged)
    assert len(world.sim.requests) == before


async def test_an_unknown_id_is_unknown_user_and_a_real_one_is_found(
    chat: MattermostChat, world: World
) -> None:
    with pytest.raises(UnknownUser):
        await chat.user("y" * 26)
    alice = await chat.user(world.alice["id"])
    assert (alice.id, alice.username) == (world.alice["id"], "alice")


def test_the_id_shape_is_26_lowercase_letters_and_digits() -> None:
    assert is_user_id("abcdefghijklmnopqrstuvwxy0")
    assert not any(is_user_id(f) for f in FORGED)


@pytest.mark.parametrize("name", ["../users/me", "..", "bob/../alice", "bob?x=1", "", "b" * 65])
async def test_a_name_that_cannot_be_a_username_is_no_user_and_not_requested(
    chat: MattermostChat, world: World, name: str
) -> None:
    before = len(world.sim.requests)
    assert await chat.user_id(name) is None
    with pytest.raises(UnknownUser):
        await chat.user_by_username(name)
    assert len(world.sim.requests) == before
    assert await chat.user_id("@Bob") == world.bob["id"]
