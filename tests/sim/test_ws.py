"""The simulator's websocket with a real aiohttp client over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from idlbot.devtools.sim.mattermost import MattermostSim

from .support import World

WS_PATH = "/api/v4/websocket"


async def recv_json(ws: aiohttp.ClientWebSocketResponse, wait: float = 2.0) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), wait)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    value = json.loads(msg.data)
    assert isinstance(value, dict)
    return value


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def connect(
    session: aiohttp.ClientSession, sim: MattermostSim, token: str | None, **kw: Any
) -> aiohttp.ClientWebSocketResponse:
    """Challenge-authenticated connection, hello and OK already consumed."""
    ws: aiohttp.ClientWebSocketResponse = await session.ws_connect(sim.url + WS_PATH, **kw)
    if token is not None:
        await ws.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": token}})
        assert (await recv_json(ws))["event"] == "hello"
        assert await recv_json(ws) == {"status": "OK", "seq_reply": 1}
    return ws


async def test_challenge_auth_hello_then_ok(session: aiohttp.ClientSession, world: World) -> None:
    ws = await session.ws_connect(world.sim.url + WS_PATH)
    await ws.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": world.bot_token}})
    hello = await recv_json(ws)
    assert hello["event"] == "hello" and hello["seq"] == 0
    assert hello["broadcast"]["user_id"] == world.bot["id"]
    assert set(hello["data"]) == {"connection_id", "server_hostname", "server_version"}
    assert await recv_json(ws) == {"status": "OK", "seq_reply": 1}
    await ws.send_json({"seq": 2, "action": "user_typing", "data": {"channel_id": world.town["id"]}})
    assert await recv_json(ws) == {"status": "OK", "seq_reply": 2}
    await ws.close()


async def test_header_auth_ignores_later_challenge(session: aiohttp.ClientSession, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.bot_token}"}
    ws = await session.ws_connect(world.sim.url + WS_PATH, headers=headers)
    assert (await recv_json(ws))["seq"] == 0
    await ws.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": world.bot_token}})
    await world.sim.user_post(world.alice["id"], world.town["id"], "hi")
    event = await recv_json(ws)  # no reply to the challenge came first
    assert event["event"] == "posted" and event["seq"] == 1
    await ws.close()


async def test_unauthenticated_request_fails(session: aiohttp.ClientSession, world: World) -> None:
    ws = await session.ws_connect(world.sim.url + WS_PATH)
    await ws.send_json({"seq": 1, "action": "user_typing", "data": {}})
    reply = await recv_json(ws)
    assert reply["status"] == "FAIL" and reply["seq_reply"] == 1
    assert reply["error"]["id"] == "api.web_socket_router.not_authenticated.app_error"
    await ws.close()


async def test_posted_dm_double_encoded(session: aiohttp.ClientSession, world: World) -> None:
    sim = world.sim
    bot_ws = await connect(session, sim, world.bot_token)
    alice_ws = await connect(session, sim, world.alice_token)
    dm = sim.direct_channel(world.alice["id"], world.bot["id"])
    post = await sim.user_post(world.alice["id"], dm["id"], "hi bot")
    event = await recv_json(bot_ws)
    assert event["event"] == "posted" and event["seq"] == 1
    data = event["data"]
    assert list(data) == sorted(data)
    assert isinstance(data["post"], str) and json.loads(data["post"]) == post
    assert data["mentions"] == json.dumps([world.bot["id"]]).replace(" ", "")
    assert data["channel_type"] == "D" and data["team_id"] == ""
    assert data["channel_display_name"] == "@alice" and data["sender_name"] == "@alice"
    assert event["broadcast"]["channel_id"] == dm["id"]
    own = await recv_json(alice_ws)  # the author gets its own post, without mentions
    assert own["event"] == "posted" and "mentions" not in own["data"]
    await bot_ws.close()
    await alice_ws.close()


async def test_channel_mentions_edit_delete_ephemeral(session: aiohttp.ClientSession, world: World) -> None:
    sim = world.sim
    bot_ws = await connect(session, sim, world.bot_token)
    bob_ws = await connect(session, sim, f"{world.sim.issue_token(world.bob['id'])}")
    post = await sim.user_post(world.alice["id"], world.town["id"], "@idlbot when is the exam?")
    to_bot, to_bob = await recv_json(bot_ws), await recv_json(bob_ws)
    assert json.loads(to_bot["data"]["mentions"]) == [world.bot["id"]]
    assert "mentions" not in to_bob["data"]
    assert to_bot["data"]["channel_display_name"] == "Town Square"
    async with session.put(
        f"{sim.url}/api/v4/posts/{post['id']}/patch",
        json={"message": "edited"},
        headers={"Authorization": f"Bearer {world.alice_token}"},
    ) as resp:
        assert resp.status == 200
    edited = await recv_json(bot_ws)
    assert edited["event"] == "post_edited" and json.loads(edited["data"]["post"])["message"] == "edited"
    async with session.delete(
        f"{sim.url}/api/v4/posts/{post['id']}", headers={"Authorization": f"Bearer {world.alice_token}"}
    ) as resp:
        assert resp.status == 200
    assert (await recv_json(bot_ws))["event"] == "post_deleted"
    await bot_ws.close()
    await bob_ws.close()


async def test_bad_token_closed_without_frame(session: aiohttp.ClientSession, world: World) -> None:
    ws = await session.ws_connect(world.sim.url + WS_PATH)
    await ws.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": "bogus"}})
    msg = await asyncio.wait_for(ws.receive(), 2)
    assert msg.type == aiohttp.WSMsgType.CLOSED
    assert ws.close_code == 1006
    world.sim.faults.reject_websocket_auth(True)
    ws2 = await session.ws_connect(world.sim.url + WS_PATH)
    await ws2.send_json({"seq": 1, "action": "authentication_challenge", "data": {"token": world.bot_token}})
    assert (await asyncio.wait_for(ws2.receive(), 2)).type == aiohttp.WSMsgType.CLOSED


async def test_auth_timeout(session: aiohttp.ClientSession, world: World) -> None:
    world.sim.ws_auth_timeout = 0.2
    ws = await session.ws_connect(world.sim.url + WS_PATH)
    assert (await asyncio.wait_for(ws.receive(), 2)).type == aiohttp.WSMsgType.CLOSED


@pytest.mark.parametrize("code", [1000, 1001])
async def test_drop_with_close_frame(session: aiohttp.ClientSession, world: World, code: int) -> None:
    ws = await connect(session, world.sim, world.bot_token)
    drop = asyncio.create_task(world.sim.faults.drop_websockets(code))
    msg = await asyncio.wait_for(ws.receive(), 2)
    assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == code
    await drop
    assert ws.close_code == code


async def test_drop_1006_and_tcp_reset(session: aiohttp.ClientSession, world: World) -> None:
    ws = await connect(session, world.sim, world.bot_token)
    await world.sim.faults.drop_websockets(1006)
    msg = await asyncio.wait_for(ws.receive(), 2)
    assert msg.type == aiohttp.WSMsgType.CLOSED and ws.close_code == 1006
    ws2 = await connect(session, world.sim, world.bot_token)
    await world.sim.faults.tcp_reset_websockets()
    msg = await asyncio.wait_for(ws2.receive(), 2)
    assert msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED)
    assert isinstance(ws2.exception(), ConnectionResetError)


async def test_server_pings_and_drops_silent_peer(session: aiohttp.ClientSession, world: World) -> None:
    # ping_interval is 0.3 s in the fixture → a silent peer is dropped after 0.5 s.
    ws = await connect(session, world.sim, world.bot_token, autoping=False)
    for _ in range(4):  # 1.2 s of answered pings: the connection stays up
        msg = await asyncio.wait_for(ws.receive(), 2)
        assert msg.type == aiohttp.WSMsgType.PING
        await ws.pong(msg.data)
    kinds = []
    while True:  # now stay silent
        msg = await asyncio.wait_for(ws.receive(), 2)
        kinds.append(msg.type)
        if msg.type != aiohttp.WSMsgType.PING:
            break
    assert kinds[-1] == aiohttp.WSMsgType.CLOSED and len(kinds) <= 3


async def test_restart_gives_fresh_hello(session: aiohttp.ClientSession, world: World) -> None:
    sim = world.sim
    ws = await session.ws_connect(sim.url + WS_PATH, headers={"Authorization": f"Token {world.bot_token}"})
    first = await recv_json(ws)
    await sim.stop()
    assert (await asyncio.wait_for(ws.receive(), 2)).type == aiohttp.WSMsgType.CLOSE
    with pytest.raises(aiohttp.ClientConnectorError):
        await session.ws_connect(sim.url + WS_PATH)
    await sim.user_post(world.alice["id"], world.town["id"], "during the gap")
    await sim.restart()
    ws2 = await session.ws_connect(
        f"{sim.url}{WS_PATH}?connection_id={first['data']['connection_id']}&sequence_number=1",
        headers={"Authorization": f"Bearer {world.bot_token}"},
    )
    hello = await recv_json(ws2)
    assert hello["event"] == "hello" and hello["seq"] == 0
    assert hello["data"]["connection_id"] != first["data"]["connection_id"]
    await sim.user_post(world.alice["id"], world.town["id"], "after")
    nxt = await recv_json(ws2)
    assert json.loads(nxt["data"]["post"])["message"] == "after"  # the gap is not replayed
    await ws2.close()


async def test_the_server_parser_decides_who_is_notified(
    session: aiohttp.ClientSession, world: World
) -> None:
    """`@channel_` notifies every member (the server strips `_`), a group its members; the
    post's record says so. With a zero-width space after the @ nobody is notified."""
    sim = world.sim
    sim.add_group("staff", {world.bot["id"]})
    bob_ws = await connect(session, sim, f"{world.sim.issue_token(world.bob['id'])}")
    loud = await sim.user_post(world.alice["id"], world.town["id"], "heads up @channel_")
    assert json.loads((await recv_json(bob_ws))["data"]["mentions"]) == [world.bob["id"]]
    assert sim.mentions_of(loud).channel_wide
    group = await sim.user_post(world.alice["id"], world.town["id"], "ask (@staff)")
    assert "mentions" not in (await recv_json(bob_ws))["data"]
    assert sim.mentions_of(group).keywords == {"@staff"}
    quiet = await sim.user_post(world.alice["id"], world.town["id"], "heads up @\u200bchannel_ @\u200bstaff")
    assert "mentions" not in (await recv_json(bob_ws))["data"]
    assert not sim.mentions_of(quiet).any
    await bob_ws.close()
