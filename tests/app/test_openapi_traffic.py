"""The bot's own REST traffic, as the simulator recorded it, conforms to the official
Mattermost OpenAPI spec (with the documented discrepancies patched in, see
tests/sim/openapi_check.py). Covers login, lookups, DMs, posts, re-sync and commands."""

from __future__ import annotations

from tests.app.conftest import Harness
from tests.sim.openapi_check import validate_exchanges


async def test_bot_requests_and_sim_responses_match_the_spec(harness: Harness) -> None:
    await harness.slash("alice", "/idl deadlines")
    await harness.dm("alice", "whoami")
    post = await harness.sim.user_post(harness.uid("bob"), harness.channel("town-square"), "@idlbot help")
    await harness.reply_to(post, harness.dm_channel("bob"))
    await harness.sim.faults.drop_websockets(1001)  # reconnect → re-sync via GET …/posts?since=
    await harness.dm("carol", "help")
    exchanges = [ex for ex in harness.sim.requests if ex.path.startswith("/api/v4/")]
    routes = {ex.route for ex in exchanges}
    assert {
        "/api/v4/users/{user_id}",
        "/api/v4/posts",
        "/api/v4/channels/direct",
        "/api/v4/channels/{channel_id}/posts",
        "/api/v4/commands",
    } <= routes, routes
    assert validate_exchanges(exchanges) == []
