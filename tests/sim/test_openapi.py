"""Everything the simulator answers to the real driver conforms to the OpenAPI spec."""

from __future__ import annotations

import pytest
from mattermostautodriver import AsyncTypedDriver
from mattermostautodriver.exceptions import NotEnoughPermissions, ResourceNotFound

from idlbot.devtools.sim.mattermost import RecordedExchange

from .openapi_check import validate_exchanges
from .support import World


async def test_driver_scenario_conforms(world: World, driver: AsyncTypedDriver) -> None:
    sim = world.sim
    await driver.users.get_user_by_username("alice")
    await driver.users.get_users_by_ids([world.alice["id"]])
    await driver.users.get_users_by_usernames(["alice", "bob"])
    await driver.teams.get_team_by_name("idl")
    await driver.teams.get_team(world.team["id"])
    await driver.teams.get_teams_for_user("me")
    await driver.channels.get_channel_by_name(world.team["id"], "town-square")
    await driver.channels.get_channel_by_name_for_team_name("idl", "town-square")
    await driver.channels.get_channel(world.town["id"])
    await driver.channels.get_channel_members(world.town["id"])
    dm = await driver.channels.create_direct_channel([world.bot["id"], world.alice["id"]])
    post = await driver.posts.create_post(channel_id=dm["id"], message="hi", props={"k": "v"})
    await driver.posts.patch_post(post["id"], message="edited")
    await driver.posts.get_post(post["id"])
    await driver.posts.get_posts_for_channel(dm["id"], since=0)
    await driver.posts.get_posts_for_channel(dm["id"], page=0, per_page=10)
    cmd = await driver.commands.create_command(
        team_id=world.team["id"], method="P", trigger="idl", url="http://127.0.0.1:9/slash"
    )
    await driver.commands.list_commands(team_id=world.team["id"], custom_only=True)
    await driver.commands.get_command_by_id(cmd["id"])
    await driver.commands.regen_command_token(cmd["id"])
    await driver.system.get_ping()
    with pytest.raises(ResourceNotFound):
        await driver.users.get_user_by_username("nobody")
    with pytest.raises(NotEnoughPermissions):
        await driver.posts.create_post(channel_id=world.general["id"], message="x")
    await driver.posts.delete_post(post["id"])
    assert len(sim.requests) > 20
    problems = validate_exchanges(sim.requests)
    assert problems == [], "\n".join(p[:160] + " ... " + p[-200:] for p in problems)


def test_checker_reports_problems() -> None:
    """The checker is not vacuous: a malformed post response is reported."""
    bad = RecordedExchange(
        method="GET",
        path="/api/v4/posts/" + "a" * 26,
        route="/api/v4/posts/{post_id}",
        query=[],
        headers={},
        body=b"",
        status=200,
        response_headers={"Content-Type": "application/json"},
        response_body=b'{"id": 5, "create_at": "yesterday"}',
    )
    assert validate_exchanges([bad])
