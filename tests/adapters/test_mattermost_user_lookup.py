"""`MattermostChat.user` against the simulator: an id that is not of Mattermost's id shape
never reaches a URL, and an unknown id is `UnknownUser`, not the driver's exception.

Before the check, `../users/username/sstober` went into `/api/v4/users/{id}`; the HTTP
client resolved the dot segments and Mattermost answered with the account named in
the path, so whoever forged the id got that account's role. Usernames go into a path
too (`/users/username/{name}`, for DMs), so the same holds for them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from idlbot.adapters.mattermost.rest import MattermostChat
from idlbot.clock import FakeClock
from idlbot.domain.chat import InvalidUserId, UnknownUser, is_user_id
from idlbot.domain.ledger import Student
from idlbot.services.roster_directory import RosterDirectory
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.roster import SqlRoster
from tests.qualification.support import T0, course
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


async def test_many_names_are_asked_a_hundred_at_a_time_and_the_unknown_left_out(
    chat: MattermostChat, world: World
) -> None:
    """The batch lookup behind a roster-wide fan-out: 250 students in three requests, not 250."""
    ids = {f"s{n:03d}": str(world.sim.add_user(f"s{n:03d}")["id"]) for n in range(250)}
    before = len(world.sim.requests)
    asked = [f" @S{n:03d}" for n in range(250)] + ["nobody", "../users/me", "s000"]
    found = await chat.user_ids(asked)
    sent = world.sim.requests[before:]
    assert found == ids
    assert [(r.method, r.route) for r in sent] == [("POST", "/api/v4/users/usernames")] * 3
    assert all(r.status == 200 for r in sent)
    assert await chat.user_ids([]) == {}
    assert await chat.user_ids(["../users/me"]) == {}
    assert len(world.sim.requests) == before + 3  # nothing to ask: no request


async def test_the_roster_directory_looks_up_a_whole_roster_in_one_batch_and_remembers_it(
    chat: MattermostChat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """The first fan-out to 150 students: two requests and one write, not 150 of each (it
    used to be one `GET` and one transaction per student, 2 s of start-up for 500). The one
    without an account is named once in the log; the second fan-out asks nothing."""
    names = [f"s{n:03d}" for n in range(150)]
    ids = {name: str(world.sim.add_user(name)["id"]) for name in names}
    roster = SqlRoster(engine)
    await roster.bulk_upsert([Student(n) for n in [*names, "ghost"]], now=T0)
    directory = RosterDirectory(roster, SqlQualification(engine, course()), chat, FakeClock(T0))
    before = len(world.sim.requests)
    with caplog.at_level(logging.WARNING, "idlbot.services.roster_directory"):
        found = await directory.students()
    assert found == [(ids[n], n) for n in names]
    assert [r.route for r in world.sim.requests[before:]] == ["/api/v4/users/usernames"] * 2
    warned = ["roster: @ghost has no Mattermost account; no DMs for them"]
    assert [r.getMessage() for r in caplog.records] == warned
    assert {s.mattermost: s.mattermost_id for s in await roster.all()} == {**ids, "ghost": None}
    again = len(world.sim.requests)
    assert await directory.students() == found
    assert [r.route for r in world.sim.requests[again:]] == ["/api/v4/users/usernames"]  # ghost, asked again
