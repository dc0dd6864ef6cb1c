"""Channel lookups by name and posts to archived channels, as the real server answers them
(api4/channel.go getChannelByName, app/post.go CreatePostAsUser): what the bot relies on to
refuse an unknown channel when a reminder is created, and to see a post fail for good."""

from __future__ import annotations

import httpx
import pytest
from mattermostautodriver import AsyncTypedDriver
from mattermostautodriver.exceptions import InvalidOrMissingParameters, ResourceNotFound

from .support import World


async def raw_get(world: World, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world.bot_token}"}
    async with httpx.AsyncClient(base_url=world.sim.url) as http:
        return await http.get(path, headers=headers)


@pytest.mark.parametrize("name", ["nosuch", "staff"])
async def test_an_unknown_or_private_channel_is_404_with_the_standard_body(world: World, name: str) -> None:
    """`staff` is private and the bot is not in it: 404 like a missing one, not 403."""
    resp = await raw_get(world, f"/api/v4/teams/{world.team['id']}/channels/name/{name}")
    assert resp.status_code == 404
    body = resp.json()
    assert body["id"] == "app.channel.get_by_name.missing.app_error"
    assert body["status_code"] == 404 and body["message"] == "Channel does not exist."
    assert "request_id" in body


async def test_a_private_channel_is_found_by_its_members(driver: AsyncTypedDriver, world: World) -> None:
    world.sim.add_channel_member(world.private["id"], world.bot["id"])
    found = await driver.channels.get_channel_by_name(world.team["id"], "staff")
    assert found["id"] == world.private["id"]


async def test_an_archived_channel_is_404_by_name_unless_asked_for(
    driver: AsyncTypedDriver, world: World
) -> None:
    world.sim.archive_channel(world.town["id"])
    with pytest.raises(ResourceNotFound):
        await driver.channels.get_channel_by_name(world.team["id"], "town-square")
    found = await driver.channels.get_channel_by_name(world.team["id"], "town-square", include_deleted=True)
    assert found["id"] == world.town["id"] and found["delete_at"] > 0


async def test_posting_to_an_archived_channel_is_400(driver: AsyncTypedDriver, world: World) -> None:
    world.sim.archive_channel(world.town["id"])
    with pytest.raises(InvalidOrMissingParameters) as err:
        await driver.posts.create_post(channel_id=world.town["id"], message="hello")
    assert err.value.error_id == "api.post.create_post.can_not_post_to_deleted.error"
    assert err.value.status_code == 400
