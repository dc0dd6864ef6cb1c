"""The bot's Mattermost websocket, supervised.

We run our own aiohttp websocket loop instead of mattermostautodriver's `Websocket` (as
its source, `mattermostautodriver/websocket.py`, shows): the driver's loop reconnects at a
fixed delay forever, retries a bad token in a loop without ever saying so, cannot be stopped except
by cancelling, and has no watchdog. This supervisor:

- authenticates with the `authentication_challenge` frame and waits for `hello` (seq 0);
- reconnects after any drop (close codes 1000/1001/1006, TCP reset, server restart,
  refused connection) with capped exponential backoff and full jitter;
- runs a watchdog: nothing (event or ping) for 2x the ping interval means the socket is
  dead even if TCP has not noticed (proxies, NAT timeouts), so it reconnects;
- treats "closed before hello" as a possible auth failure and asks REST whether the token
  is still valid; an auth failure is logged at ERROR and retried slowly, never in a loop;
- calls `on_connected` after each hello, so the caller can fetch what was posted during
  the gap (the server does not replay missed events to a fresh connection).

The event callback is synchronous and must only parse and spawn: a slow handler would
hold up the reading of the next frame, which the watchdog would take for a dead socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp

from idlbot.backoff import backoff_delay

log = logging.getLogger(__name__)

#: how long a re-sync in flight may run on after its socket closed (it is bounded work)
RESYNC_GRACE = 10.0

EventHandler = Callable[[dict[str, Any]], None]
ConnectedHandler = Callable[[], Coroutine[Any, Any, None]]
AuthCheck = Callable[[], Awaitable[bool]]


class AuthFailed(Exception):
    pass


class WatchdogExpired(Exception):
    pass


class WebsocketSupervisor:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        on_event: EventHandler,
        on_connected: ConnectedHandler,
        auth_ok: AuthCheck,
        ping_interval: float = 30.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 15.0,
        auth_retry: float = 60.0,
        hello_timeout: float = 10.0,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        base = url.rstrip("/")
        self.ws_url = (
            base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/api/v4/websocket"
        )
        self._token = token
        self._on_event = on_event
        self._on_connected = on_connected
        self._auth_ok = auth_ok
        self.ping_interval = ping_interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.auth_retry = auth_retry
        self.hello_timeout = hello_timeout
        self._on_reconnect = on_reconnect
        self.state = "starting"
        self.connected = False
        self.connections = 0
        self.reconnects = 0
        self.auth_failures = 0
        self.failed_attempts = 0  # connects failed since the last hello: the backoff's exponent
        self.last_error: str | None = None
        self._stop = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.connection_id: str | None = None
        self._greeted = False  # the current attempt got its hello

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._stop.is_set():
                delay: float
                try:
                    await self._connect_once(session)
                    reason = "closed by server"
                except AuthFailed:
                    self.auth_failures += 1
                    self.state = "auth_failed"
                    self.last_error = "authentication failed"
                    log.error(
                        "Mattermost websocket authentication FAILED: the bot token is invalid or revoked; "
                        "retrying in %.0f s (fix IDLBOT_MATTERMOST_TOKEN)",
                        self.auth_retry,
                        extra={"event": "websocket", "outcome": "auth_failed"},
                    )
                    await self._pause(self.auth_retry)
                    continue
                except WatchdogExpired:
                    reason = f"watchdog: nothing received for {2 * self.ping_interval:.0f} s"
                except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
                    reason = f"{type(err).__name__}: {err}"
                finally:
                    self.connected = False
                    self._ws = None
                if self._stop.is_set():
                    break
                if self._greeted:
                    # this attempt got its hello: the backoff starts over
                    self.failed_attempts = 0
                    self._greeted = False
                self.last_error = reason
                delay = backoff_delay(self.failed_attempts, base=self.backoff_base, cap=self.backoff_cap)
                self.failed_attempts += 1
                self.state = "reconnecting"
                log.warning(
                    "websocket down (%s); reconnecting in %.1f s",
                    reason,
                    delay,
                    extra={"event": "websocket", "outcome": "down", "reason": reason},
                )
                await self._pause(delay)
        self.state = "stopped"

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def stop(self) -> None:
        self._stop.set()
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()

    async def _connect_once(self, session: aiohttp.ClientSession) -> None:
        self.state = "connecting"
        async with session.ws_connect(self.ws_url, autoping=False, heartbeat=None) as ws:
            self._ws = ws
            await ws.send_str(
                json.dumps({"seq": 1, "action": "authentication_challenge", "data": {"token": self._token}})
            )
            hello = await self._await_hello(ws)
            self.connection_id = str(hello.get("data", {}).get("connection_id", ""))
            self.connected = self._greeted = True
            self.connections += 1
            if self.connections > 1:
                self.reconnects += 1
                if self._on_reconnect is not None:
                    self._on_reconnect()
            self.state = "connected"
            log.info(
                "websocket connected (connection %s, reconnects %d)",
                self.connection_id,
                self.reconnects,
                extra={"event": "websocket", "outcome": "connected"},
            )
            resync: asyncio.Task[None] = asyncio.create_task(self._on_connected(), name="websocket resync")
            resync.add_done_callback(_report)
            try:
                await self._read(ws)
            finally:
                # Down from here, while the re-sync may go on retrying REST for its grace.
                self.connected = False
                self.state = "closed"
                await _finish(resync, RESYNC_GRACE)

    async def _await_hello(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.hello_timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("no hello from the server")
            msg = await ws.receive(timeout=remaining)
            if msg.type == aiohttp.WSMsgType.PING:
                await ws.pong(msg.data)
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                # Mattermost closes the socket without an error frame on a bad token, so a
                # close before hello may be an auth failure; REST tells us for sure.
                if not await self._auth_ok():
                    raise AuthFailed()
                raise ConnectionError(f"socket closed before hello ({msg.type.name})")
            frame = json.loads(msg.data)
            if frame.get("event") == "hello" and frame.get("seq") == 0:
                return dict(frame)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        watchdog = 2 * self.ping_interval
        while not self._stop.is_set():
            try:
                msg = await ws.receive(timeout=watchdog)
            except TimeoutError:
                raise WatchdogExpired() from None
            if msg.type == aiohttp.WSMsgType.PING:
                await ws.pong(msg.data)
                continue
            if msg.type == aiohttp.WSMsgType.PONG:
                continue
            if msg.type == aiohttp.WSMsgType.TEXT:
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    log.warning("websocket frame is not JSON; ignored")
                    continue
                if "event" in frame:
                    self._on_event(frame)
                continue
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                code = ws.close_code
                raise ConnectionError(f"closed with code {code}")
            if msg.type == aiohttp.WSMsgType.ERROR:
                raise ConnectionError(f"socket error: {ws.exception()}")


def _report(task: asyncio.Task[None]) -> None:
    """A re-sync that failed says so in one line (the next connection re-syncs again).
    `_finish` gathers it quietly, and one left behind by a stop that cancelled `_finish`
    was logged by asyncio as "Task exception was never retrieved", with a traceback."""
    err = None if task.cancelled() else task.exception()
    if err is None:
        return
    first = next(iter(str(err).splitlines()), "")
    log.warning(
        "websocket re-sync failed (%s: %s); the next connection re-syncs again",
        type(err).__name__,
        first[:200],
        extra={"event": "websocket", "outcome": "resync_failed"},
    )


async def _finish(task: asyncio.Task[None], grace: float) -> None:
    """Let the re-sync end by itself when the socket closes, cancelling it only after
    `grace` seconds. Cancelling it mid-statement would leave an aiosqlite statement
    running in its thread after the connection was given up: SQLite then keeps that
    connection's write lock until the garbage collector finds the cursor, and the next
    writer (or the next start) gets "database is locked"."""
    await asyncio.wait({task}, timeout=grace)
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)
