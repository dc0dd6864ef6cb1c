"""Fixtures: a started simulator seeded with a course team, and a real driver against it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mattermostautodriver import AsyncTypedDriver

from idlbot.devtools.sim.mattermost import MattermostSim

from .support import World, make_driver


@pytest.fixture
async def sim() -> AsyncIterator[MattermostSim]:
    server = MattermostSim(ping_interval=0.3, command_timeout=2.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def world(sim: MattermostSim) -> World:
    team = sim.add_team("idl", "Intro to Deep Learning")
    bot = sim.add_user("idlbot", is_bot=True, roles="system_user")
    alice = sim.add_user("alice", first_name="Alice", last_name="A")
    bob = sim.add_user("bob")
    for user in (alice, bob):
        sim.add_team_member(team["id"], user["id"])
    sim.add_team_member(team["id"], bot["id"], admin=True)
    town = sim.add_channel(team["id"], "town-square", display_name="Town Square")
    general = sim.add_channel(team["id"], "general", display_name="General")
    private = sim.add_channel(team["id"], "staff", type="P", display_name="Staff")
    for user in (bot, alice, bob):
        sim.add_channel_member(town["id"], user["id"])
    sim.add_channel_member(general["id"], alice["id"])
    return World(
        sim=sim,
        team=team,
        bot=bot,
        bot_token=sim.issue_token(bot["id"]),
        alice=alice,
        alice_token=sim.issue_token(alice["id"]),
        bob=bob,
        town=town,
        general=general,
        private=private,
    )


@pytest.fixture
async def driver(world: World) -> AsyncIterator[AsyncTypedDriver]:
    d = make_driver(world.sim, world.bot_token)
    await d.login()
    try:
        yield d
    finally:
        await d.close()
