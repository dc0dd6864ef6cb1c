"""Slash commands: the simulator calls a tiny aiohttp "bot" exactly like Mattermost does."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from idlbot.devtools.sim.mattermost import SimCommandFailed

from .openapi_check import validate_exchanges
from .support import World

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeBot:
    """Records each slash request; `reply` decides the answer."""

    url: str
    seen: list[tuple[str, dict[str, str], bytes, str]] = field(default_factory=list)
    reply: Reply | None = None


@pytest.fixture
async def bot() -> AsyncIterator[FakeBot]:
    fake = FakeBot(url="")

    async def handler(request: web.Request) -> web.StreamResponse:
        fake.seen.append((request.method, dict(request.headers), await request.read(), request.query_string))
        assert fake.reply is not None
        return await fake.reply(request)

    app = web.Application()
    app.router.add_route("*", "/slash", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slash"
    yield fake
    await runner.cleanup()


def json_reply(body: dict[str, Any], content_type: str = "application/json") -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=json.dumps(body).encode(), content_type=None, headers={"Content-Type": content_type}
        )

    return reply


async def register(world: World, url: str, method: str = "P") -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{world.sim.url}/api/v4/commands",
            json={"team_id": world.team["id"], "trigger": "idl", "method": method, "url": url},
            headers={"Authorization": f"Bearer {world.bot_token}"},
        ) as resp,
    ):
        assert resp.status == 201
        cmd: dict[str, Any] = await resp.json(content_type=None)
        return cmd


async def test_request_fields_and_headers(world: World, bot: FakeBot) -> None:
    cmd = await register(world, bot.url)
    bot.reply = json_reply({"response_type": "ephemeral", "text": "pong"})
    result = await world.sim.execute_command(
        world.alice["id"], world.town["id"], "/IDL announce Exam moved @bob ~general"
    )
    assert result["text"] == "pong"
    method, headers, body, _ = bot.seen[0]
    assert method == "POST"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Accept"] == "application/json"
    assert headers["Authorization"] == f"Token {cmd['token']}"
    assert headers["User-Agent"] == "Mattermost-Bot/1.1"
    pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys)
    fields = dict(pairs)
    assert set(fields) == {
        "channel_id", "channel_mentions", "channel_mentions_ids", "channel_name", "command",
        "response_url", "root_id", "team_domain", "team_id", "text", "token", "trigger_id",
        "user_id", "user_mentions", "user_mentions_ids", "user_name",
    }  # fmt: skip
    assert fields["command"] == "/idl" and fields["text"] == "announce Exam moved @bob ~general"
    assert fields["root_id"] == "" and fields["team_domain"] == "idl" and fields["token"] == cmd["token"]
    assert fields["user_mentions"] == "bob" and fields["user_mentions_ids"] == world.bob["id"]
    assert fields["channel_mentions"] == "general" and fields["channel_mentions_ids"] == world.general["id"]
    assert fields["response_url"].startswith(f"{world.sim.url}/hooks/commands/")
    assert b"text=announce+Exam+moved+%40bob+~general" in body  # Go's url.Values.Encode
    assert world.sim.ephemerals[-1]["user_id"] == world.alice["id"]
    assert world.sim.ephemerals[-1]["message"] == "pong"


async def test_ephemeral_goes_only_to_invoker(world: World, bot: FakeBot) -> None:
    await register(world, bot.url)
    bot.reply = json_reply({"text": "only you"})
    async with aiohttp.ClientSession() as s:
        alice_ws = await s.ws_connect(world.sim.url + "/api/v4/websocket",
                                      headers={"Authorization": f"Bearer {world.alice_token}"})  # fmt: skip
        bot_ws = await s.ws_connect(world.sim.url + "/api/v4/websocket",
                                    headers={"Authorization": f"Bearer {world.bot_token}"})  # fmt: skip
        await alice_ws.receive_json()
        await bot_ws.receive_json()
        await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl status")
        event = json.loads((await asyncio.wait_for(alice_ws.receive(), 2)).data)
        assert event["event"] == "ephemeral_message"
        post = json.loads(event["data"]["post"])
        assert post["type"] == "system_ephemeral" and post["message"] == "only you"
        assert event["broadcast"]["user_id"] == world.alice["id"]
        assert world.sim.posts == []
        await world.sim.user_post(world.alice["id"], world.town["id"], "marker")
        marker = json.loads((await asyncio.wait_for(bot_ws.receive(), 2)).data)
        assert marker["event"] == "posted"  # the bot never saw the ephemeral
        await alice_ws.close()
        await bot_ws.close()


async def test_in_channel_authored_by_invoker_with_extras(world: World, bot: FakeBot) -> None:
    await register(world, bot.url)
    bot.reply = json_reply(
        {
            "response_type": "in_channel",
            "text": "#### Announcement",
            "props": {"idl_kind": "announcement"},
            "extra_responses": [{"response_type": "ephemeral", "text": "Posted your announcement."}],
        },
        content_type="application/json; charset=utf-8",
    )
    await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl announce x")
    [post] = world.sim.posts_in(world.town["id"])
    assert post["user_id"] == world.alice["id"]
    assert post["props"] == {"idl_kind": "announcement", "from_webhook": "true"}
    assert world.sim.ephemerals[-1]["message"] == "Posted your announcement."


async def test_non_json_content_type_is_literal_text(world: World, bot: FakeBot) -> None:
    await register(world, bot.url)
    bot.reply = json_reply({"response_type": "in_channel", "text": "hi"}, content_type="text/plain")
    result = await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl")
    assert result["text"] == '{"response_type": "in_channel", "text": "hi"}'
    assert world.sim.ephemerals[-1]["message"] == result["text"] and world.sim.posts == []

    async def empty(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"", content_type="text/plain")

    bot.reply = empty
    before = len(world.sim.ephemerals)
    await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl")
    assert len(world.sim.ephemerals) == before  # silent ack


async def test_failures(world: World, bot: FakeBot) -> None:
    await register(world, bot.url)

    async def boom(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="no")

    bot.reply = boom
    with pytest.raises(SimCommandFailed) as err:
        await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl x")
    assert (
        err.value.message == "Command with a trigger of '/idl' returned response 500 Internal Server Error."
    )
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="late")

    bot.reply = slow
    world.sim.command_timeout = 0.2
    with pytest.raises(SimCommandFailed) as err:
        await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl x")
    release.set()
    assert err.value.message == "Command with a trigger of '/idl' failed."
    with pytest.raises(SimCommandFailed) as err:
        await world.sim.execute_command(world.alice["id"], world.town["id"], "/nope")
    assert err.value.error_id == "api.command.execute_command.not_found.app_error"


async def test_get_method_uses_query(world: World, bot: FakeBot) -> None:
    await register(world, bot.url, method="G")
    bot.reply = json_reply({"text": "ok"})
    await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl a b")
    method, headers, body, query = bot.seen[0]
    assert method == "GET" and body == b"" and "Content-Type" not in headers
    assert dict(urllib.parse.parse_qsl(query, keep_blank_values=True))["text"] == "a b"


async def test_response_url_five_uses(world: World, bot: FakeBot) -> None:
    await register(world, bot.url)
    bot.reply = json_reply({"text": "working on it"})
    await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl grade")
    response_url = dict(urllib.parse.parse_qsl(bot.seen[0][2].decode()))["response_url"]
    async with aiohttp.ClientSession() as s:
        for i in range(5):
            async with s.post(response_url, json={"response_type": "in_channel", "text": f"r{i}"}) as resp:
                assert resp.status == 200 and await resp.text() == "ok"
                assert resp.headers["Content-Type"] == "text/plain"
        async with s.post(response_url, data=b"plain") as resp:
            assert resp.status == 400
            assert (await resp.json(content_type=None))["id"] == "web.command_webhook.general.app_error"
        async with s.post(world.sim.url + "/hooks/commands/" + "a" * 26, data=b"x") as resp:
            assert resp.status == 404
    posts = world.sim.posts_in(world.town["id"])
    assert [p["message"] for p in posts] == [f"r{i}" for i in range(5)]
    assert all(p["user_id"] == world.alice["id"] and p["props"]["from_webhook"] == "true" for p in posts)
    assert validate_exchanges(world.sim.requests) == []  # hooks are skipped, /api/v4 checked


async def test_response_url_expires(world: World, bot: FakeBot) -> None:
    await register(world, bot.url)
    bot.reply = json_reply({"text": ""})
    await world.sim.execute_command(world.alice["id"], world.town["id"], "/idl grade")
    response_url = dict(urllib.parse.parse_qsl(bot.seen[0][2].decode()))["response_url"]
    world.sim.advance_time(31 * 60)
    async with aiohttp.ClientSession() as s, s.post(response_url, data=b"late") as resp:
        assert resp.status == 404


async def test_execute_via_rest(world: World, bot: FakeBot) -> None:
    await register(world, bot.url)
    bot.reply = json_reply({"response_type": "in_channel", "text": "done"})
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{world.sim.url}/api/v4/commands/execute",
            json={"channel_id": world.town["id"], "command": "/idl go"},
            headers={"Authorization": f"Bearer {world.alice_token}"},
        ) as resp,
    ):
        assert resp.status == 200
        body = await resp.json()
    assert body["response_type"] == "in_channel" and body["text"] == "done"
    assert world.sim.posts[-1]["user_id"] == world.alice["id"]
    assert validate_exchanges(world.sim.requests) == []
