"""A protocol-faithful Mattermost server simulator for tests and `idlbot demo`.
(Over 300 lines: the app, its middleware and the fault hooks are one request path.)

It is an aiohttp application on 127.0.0.1 that real clients (mattermostautodriver's
httpx client, aiohttp websockets) talk to over real sockets. Wire facts follow the
Mattermost Go server's source and its OpenAPI spec (tests/openapi/); the modules are:

* `mm_state`  - stored entities and their JSON shapes
* `mm_mentions` - the server's mention parser (what a post would notify)
* `mm_posts`  - post creation/editing/delivery (one path for REST, commands, `user_post`)
* `mm_commands` - slash commands towards the bot and `response_url` hooks
* `mm_rest`   - `/api/v4` handlers and route templates
* `mm_ws`     - the websocket
* `mm_faults` - AppError and fault switches
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from idlbot.devtools.sim.mm_commands import Commands
from idlbot.devtools.sim.mm_faults import Faults, SimAppError, SimCommandFailed, session_expired
from idlbot.devtools.sim.mm_mentions import Mentions
from idlbot.devtools.sim.mm_posts import Posts
from idlbot.devtools.sim.mm_rest import Ctx, Rest
from idlbot.devtools.sim.mm_state import (
    VERSION_ID,
    SimState,
    go_json,
    make_channel,
    make_team,
    make_user,
    new_id,
)
from idlbot.devtools.sim.mm_ws import WsHub, token_from_request

__all__ = ["MattermostSim", "RecordedExchange", "SimAppError", "SimCommandFailed"]

ACCEPT_SETTLE = 0.01
"""Seconds between closing the listening socket and closing the connections (see `stop`)."""


@dataclass
class RecordedExchange:
    """One HTTP request the simulator answered, for conformance checks and assertions."""

    method: str
    path: str
    route: str | None  # the OpenAPI-style template, e.g. "/api/v4/posts/{post_id}"; None if unmatched
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""


class MattermostSim:
    """The simulated server: seeding, lifecycle, acting as users, inspection and faults."""

    def __init__(self, *, ping_interval: float = 60.0, command_timeout: float = 30.0) -> None:
        self.state = SimState()
        self.hub = WsHub(self.state, ping_interval=ping_interval)
        self.faults = Faults(self.hub)
        self.hub.reject_auth = lambda: self.faults.ws_auth_rejected
        self._posts = Posts(self.state, self.hub)
        self._commands = Commands(self.state, self._posts, timeout=command_timeout)
        self._rest = Rest(self.state, self._posts, self._commands)
        self.requests: list[RecordedExchange] = []
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0

    # ---- seeding -------------------------------------------------------------------------
    def add_team(self, name: str, display_name: str | None = None) -> dict[str, Any]:
        team = make_team(new_id(), name, display_name or name, self.state.clock.millis())
        self.state.teams[team["id"]] = team
        self.state.team_members[team["id"]] = {}
        return team

    def add_user(
        self,
        username: str,
        *,
        timezone: str = "Europe/Berlin",
        is_bot: bool = False,
        roles: str = "system_user",
        first_name: str = "",
        last_name: str = "",
    ) -> dict[str, Any]:
        user = make_user(
            new_id(),
            username,
            tz=timezone,
            is_bot=is_bot,
            roles=roles,
            first=first_name,
            last=last_name,
            now=self.state.clock.millis(),
        )
        self.state.users[user["id"]] = user
        return user

    def issue_token(self, user_id: str) -> str:
        """A bot token / personal access token for that user (26-char id like the server's)."""
        token = new_id()
        self.state.tokens[token] = user_id
        return token

    def revoke_token(self, token: str) -> None:
        """An admin revoked the token: REST answers 401, the websocket closes without a frame."""
        self.state.tokens.pop(token, None)

    def add_team_member(self, team_id: str, user_id: str, *, admin: bool = False) -> None:
        """`admin=True` gives team_admin (needed to manage slash commands unless system_admin)."""
        self.state.team_members[team_id][user_id] = admin

    def add_channel(
        self, team_id: str, name: str, *, type: str = "O", display_name: str | None = None
    ) -> dict[str, Any]:
        chan = make_channel(
            new_id(), team_id, name, type, display_name or name, "", self.state.clock.millis()
        )
        self.state.channels[chan["id"]] = chan
        self.state.channel_members[chan["id"]] = {}
        return chan

    def add_channel_member(self, channel_id: str, user_id: str) -> None:
        self._rest.add_member(channel_id, user_id)

    def remove_channel_member(self, channel_id: str, user_id: str) -> None:
        """A member leaves or is removed (an admin kicking the bot out of a channel)."""
        self.state.channel_members.get(channel_id, {}).pop(user_id, None)

    def archive_channel(self, channel_id: str) -> None:
        """Archive a channel, as "Archive Channel" in the UI or `DELETE /channels/{id}`:
        `delete_at` is set, the name no longer resolves (without `include_deleted`) and
        posting to it is refused with 400 `can_not_post_to_deleted`; members are kept."""
        self.state.channels[channel_id]["delete_at"] = self.state.clock.millis()
        self.state.channels[channel_id]["update_at"] = self.state.clock.millis()

    def direct_channel(self, user_a: str, user_b: str) -> dict[str, Any]:
        return self._rest.direct(user_a, user_b)

    def add_group(self, name: str, user_ids: set[str]) -> None:
        """A user group: `@name` in a post notifies its members who are in the channel."""
        self.state.groups[name.lower()] = set(user_ids)

    def advance_time(self, seconds: float) -> None:
        """Move the server's clock forward (pending_post_id TTL, response_url lifetime)."""
        self.state.clock.offset_s += seconds

    # ---- inspection ----------------------------------------------------------------------
    @property
    def posts(self) -> list[dict[str, Any]]:
        return self.state.posts

    def posts_in(self, channel_id: str) -> list[dict[str, Any]]:
        return self.state.channel_posts(channel_id)

    def mentions_of(self, post: dict[str, Any]) -> Mentions:
        """What the server's mention parser found in the post's (latest) text."""
        return self.state.mentions[post["id"]]

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return self.state.ephemerals

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def command_timeout(self) -> float:
        """Seconds the server waits for the bot's slash-command answer (30 s like the server)."""
        return self._commands.timeout

    @command_timeout.setter
    def command_timeout(self, value: float) -> None:
        self._commands.timeout = value

    @property
    def ws_auth_timeout(self) -> float:
        return self.hub.auth_timeout

    @ws_auth_timeout.setter
    def ws_auth_timeout(self, value: float) -> None:
        self.hub.auth_timeout = value

    # ---- acting as a user ----------------------------------------------------------------
    async def user_post(
        self, user_id: str, channel_id: str, message: str, root_id: str = ""
    ) -> dict[str, Any]:
        body = {"channel_id": channel_id, "message": message, "root_id": root_id, "props": {}}
        return self._posts.create(user_id, body)

    async def execute_command(self, user_id: str, channel_id: str, command: str) -> dict[str, Any]:
        """Like POST /commands/execute; raises SimCommandFailed with the user-visible text."""
        try:
            return await self._commands.execute(user_id, channel_id, command)
        except SimCommandFailed:
            raise
        except SimAppError as exc:
            raise SimCommandFailed(exc.status, exc.error_id, exc.message, exc.detailed) from None

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        self._host, self._port = host, int(self._runner.addresses[0][1])
        self._commands.base_url = self.url
        return self.url

    async def stop(self) -> None:
        """Stop listening and close every websocket with 1001 (going away); state is kept.

        The bot reconnects at once (0.0 s into its backoff), so a connection may be
        accepted in the very loop iteration that stops the listening socket. asyncio
        accepts in one callback and builds the transport in a task on the next one; if
        `Server.close()` ran in between, CPython 3.11's `Server._attach` asserts, and the
        accepted socket is left open with no transport to close it: the ResourceWarning
        ("unclosed transport", a `RequestHandler` never connected) that failed the outage
        test in CI. So the accepting is stopped first (`remove_reader` on the listening
        sockets), the loop turns twice for what was accepted to be built and listed, and
        only then are the sites stopped (aiohttp's cleanup then closes every connection:
        none can register while its `shutdown` awaits the ones it listed, which it would
        forget open). Websockets accepted since the first drop are dropped too."""
        await self.hub.drop_all(1001)
        if self._runner is None:
            return
        loop = asyncio.get_running_loop()
        for site in self._runner.sites:
            listening = getattr(site, "_server", None)  # aiohttp keeps the asyncio.Server there
            for sock in getattr(listening, "sockets", None) or ():
                loop.remove_reader(sock.fileno())
        for _ in range(2):
            await asyncio.sleep(0)
        await asyncio.sleep(ACCEPT_SETTLE)
        await self.hub.drop_all(1001)
        await self._runner.cleanup()
        self._runner = None

    async def restart(self) -> None:
        await self.stop()
        await self.start(self._host, self._port)

    # ---- HTTP dispatch -------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        if body is None:
            return web.Response(status=400)  # to nobody: aiohttp drops it, and logs no traceback
        rl_headers, refused = self._rate_limit(request, body)
        if refused is not None:
            return refused
        path = request.path
        if path.rstrip("/") == "/api/v4/websocket":
            return await self.hub.handle(request)
        request_id = new_id()
        headers = {"X-Request-ID": request_id, "X-Version-ID": VERSION_ID, **rl_headers}
        route_name: str | None = None
        try:
            if path.startswith("/hooks/commands/") and request.method == "POST":
                route_name = "/hooks/commands/{id}"
                self._commands.use_hook(
                    path.rsplit("/", 1)[-1], request.headers.get("Content-Type", ""), body
                )
                resp = web.Response(status=200, body=b"ok", headers={"Content-Type": "text/plain", **headers})
                return self._record(request, body, route_name, resp)
            if self.faults.latency > 0:
                await asyncio.sleep(self.faults.latency)
            matched = self._rest.match(request.method, path)
            if matched is None:
                raise SimAppError(404, "api.context.404.app_error", "Sorry, we could not find the page.")
            route, params = matched
            route_name = route.template
            slow = self.faults.route_latency.get(f"{request.method} {route.template}", 0.0)
            if slow > 0:
                await asyncio.sleep(slow)
            user_id = ""
            if route.auth:
                user_id = self.state.tokens.get(token_from_request(request), "")
                if not user_id:
                    raise session_expired()
            injected = self.faults.take_failure(f"{request.method} {route.template}")
            if injected is not None:
                raise injected
            ctx = Ctx(request, params, dict(request.query), body, user_id)
            status, payload = await route.handler(ctx)
            resp = self._json(status, payload, headers)
        except SimAppError as exc:
            resp = self._json(exc.status, exc.body(request_id), headers)
        return self._record(request, body, route_name, resp)

    def _rate_limit(self, request: web.Request, body: bytes) -> tuple[dict[str, str], web.Response | None]:
        """The rate limit's headers, and its 429 when the client is over the limit."""
        limiter = self.faults.limiter
        if limiter is None:
            return {}, None
        result = limiter.check(request.remote or "")
        rl_headers = result.headers()
        if not result.limited:
            return rl_headers, None
        # http.Error in the rate limit middleware: outside the API handler, so no
        # X-Request-ID / X-Version-ID (samples/rate_limited_429.http).
        resp = web.Response(
            status=429,
            body=b"limit exceeded\n",
            headers={
                "Content-Type": "text/plain; charset=utf-8",
                "X-Content-Type-Options": "nosniff",
                **rl_headers,
            },
        )
        return rl_headers, self._record(request, body, None, resp)

    @staticmethod
    def _json(status: int, payload: Any, headers: dict[str, str]) -> web.Response:
        """JSON with `Content-Type: application/json` exactly (drivers compare the string);
        a handler's own response (a file's bytes) passes through with the headers added."""
        if isinstance(payload, web.Response):
            payload.headers.update(headers)
            return payload
        return web.Response(
            status=status,
            body=go_json(payload).encode(),
            headers={"Content-Type": "application/json", **headers},
        )

    def _record(
        self, request: web.Request, body: bytes, route: str | None, resp: web.Response
    ) -> web.Response:
        raw = resp.body
        self.requests.append(
            RecordedExchange(
                method=request.method,
                path=request.path,
                route=route,
                query=list(request.query.items()),
                headers=dict(request.headers),
                body=body,
                status=resp.status,
                response_headers=dict(resp.headers),
                response_body=raw if isinstance(raw, bytes) else b"",
            )
        )
        return resp


async def _body(request: web.Request) -> bytes | None:
    """The request body; None when the client died mid-body (a bot stopped while posting)."""
    try:
        return await request.read()
    except ConnectionResetError:
        return None
