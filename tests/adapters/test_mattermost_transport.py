"""The driver's aiohttp transport fails as httpx's own did, so the outbox's retry decisions
do not change: a refused connection was certainly not a post, a timeout or a dropped
answer may have been one. Servers here are raw sockets on 127.0.0.1, doing what a
proxy or a dying server does, which the simulator does not."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from aiohttp import web

from idlbot.adapters.mattermost.delivery import never_reached_server
from idlbot.adapters.mattermost.rest import MattermostChat, classify
from idlbot.adapters.mattermost.transport import AiohttpTransport

Conn = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handle: Conn) -> AsyncIterator[str]:
    """A server running `handle` per connection; at the end every connection is closed
    and every handler ended, so nothing is left for the loop's teardown."""
    handlers: set[asyncio.Task[None]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handle(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(run, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = next((int(line[15:]) for line in lines if line.startswith(b"content-length:")), 0)
    return head + await reader.readexactly(length)


async def post_through(url: str, *, timeout: float = 5.0) -> BaseException:
    chat = MattermostChat(url, "t" * 26, team="idl", timeout=timeout)
    try:
        await chat.create_post("c" * 26, "hello", key="k1")
    except Exception as err:  # noqa: BLE001 - the failure is what is checked
        return err
    finally:
        await chat.close()
    raise AssertionError("the post did not fail")


async def test_a_refused_connection_is_a_connect_error_the_outbox_knows_was_not_sent() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = await post_through(f"http://127.0.0.1:{port}")
    assert isinstance(err, httpx.ConnectError)
    decision = classify(err)
    assert decision.retryable and never_reached_server(decision.reason)


async def test_a_server_that_never_answers_is_a_read_timeout_checked_before_a_resend() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.Event().wait()  # never answers; `serve` cancels it at the end

    async for url in serve(silent):
        err = await post_through(url, timeout=0.2)
    assert isinstance(err, httpx.ReadTimeout)
    decision = classify(err)
    assert decision.retryable and decision.reason.startswith("timeout")
    assert not never_reached_server(decision.reason)  # it may have been created


async def test_a_connection_closed_after_the_request_may_have_posted() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async for url in serve(hang_up):
        err = await post_through(url)
    assert isinstance(err, httpx.RemoteProtocolError)
    decision = classify(err)
    assert decision.retryable and not never_reached_server(decision.reason)


async def test_a_half_sent_answer_is_a_read_error() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{"id"')
        await writer.drain()
        writer.close()

    async for url in serve(cut):
        err = await post_through(url)
    assert isinstance(err, httpx.TransportError) and not isinstance(err, httpx.ConnectError)
    assert not never_reached_server(classify(err).reason)


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """Answers gzip-compressed JSON with a cookie, and records what it was sent."""
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request)
        body = json.dumps({"id": "p" * 26, "headers": request.headers.getall("User-Agent")}).encode()
        return web.Response(
            body=gzip.compress(body),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json", "Set-Cookie": "C=x"},
            status=201,
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_headers_body_and_gzip_pass_once(echo_server: tuple[str, list[web.Request]]) -> None:
    url, seen = echo_server
    transport = AiohttpTransport()
    async with httpx.AsyncClient(transport=transport, headers={"Authorization": "Bearer t"}) as client:
        resp = await client.post(url + "/api/v4/posts", json={"message": "hi"})
        again = await client.get(url + "/api/v4/users/username/a%2Eb", params={"q": "@alice ~"})
    assert resp.status_code == 201
    assert resp.json()["id"] == "p" * 26  # decompressed once, by httpx
    sent = seen[0]
    assert sent.headers.getall("User-Agent") == [f"python-httpx/{httpx.__version__}"]  # not aiohttp's too
    assert sent.headers.getall("Authorization") == ["Bearer t"]
    assert sent.headers["Content-Type"] == "application/json"
    assert again.status_code == 201 and seen[1].cookies.get("C") == "x"  # httpx's jar, once
    assert seen[1].raw_path == "/api/v4/users/username/a%2Eb?q=%40alice+~"  # as httpx encoded it
    assert transport._session is not None and transport._session.closed  # closed with the client


async def test_the_session_is_made_inside_the_loop_and_a_closed_one_is_replaced(
    echo_server: tuple[str, list[web.Request]],
) -> None:
    url, _ = echo_server
    transport = AiohttpTransport()
    assert transport._session is None  # constructing it (outside any loop) opens nothing
    for _ in range(2):
        async with httpx.AsyncClient(transport=transport) as client:
            assert (await client.get(url + "/x")).status_code == 201
