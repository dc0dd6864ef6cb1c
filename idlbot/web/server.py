"""aiohttp routes: /mattermost/command, /healthz, /metrics; and the server that serves them.

The slash-command route fails closed: the token is compared in constant time, both in
the `Authorization: Token …` header and in the `token` form field (Mattermost sends
both), and a mismatch gets 401 before anything is parsed or run. A form with the right
token that is malformed (not UTF-8, a field missing, an id not of Mattermost's shape) gets
400 and one log line (`web.slash_form`). Replies carry
`Content-Type: application/json` exactly: without it Mattermost shows the JSON as text.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from idlbot.commands.dispatch import Dispatcher
from idlbot.commands.reply import Reply
from idlbot.metrics import CONTENT_TYPE, Metrics
from idlbot.ports.health import Health, HealthSnapshot
from idlbot.tasks import TaskPool
from idlbot.web import slash_form
from idlbot.web.budget import Budget
from idlbot.web.inputs import BadInput, bad_request, secret_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlashCourse:
    """One course's `/idl`: Mattermost made its token for the course's team."""

    token: str
    dispatcher: Dispatcher
    team_id: Callable[[], str]  # "" until the bot has logged in


@dataclass
class WebDeps:
    dispatcher: Dispatcher
    slash_token: str
    tasks: TaskPool
    health: Health
    metrics: Metrics
    http: Callable[[], aiohttp.ClientSession]
    inline_budget: float = 2.0
    on_scrape: Callable[[HealthSnapshot], Awaitable[None]] | None = None
    courses: Sequence[SlashCourse] = ()  # several courses: these, instead of the two above
    budget: Budget = field(init=False)
    _solo: tuple[SlashCourse] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.budget = Budget(self.inline_budget)

    def slash_courses(self) -> Sequence[SlashCourse]:
        """Every slash command compares its token with each course's. A one-course bot's
        is made once per token (`slash_token` is set again when `/idl` is registered)."""
        if self.courses:
            return self.courses
        solo = self._solo
        if solo is None or solo[0].token != self.slash_token or solo[0].dispatcher is not self.dispatcher:
            solo = self._solo = (SlashCourse(self.slash_token, self.dispatcher, str),)
        return solo


DEPS = web.AppKey("deps", WebDeps)


def json_response(payload: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(payload).encode(), status=status, content_type="application/json")


def reply_response(reply: Reply) -> web.Response:
    """A command's reply as Mattermost's JSON. The body of a reply without props is kept by
    its text: the busiest commands serve kept texts (`domain/kept_text`), the same string
    object for many asks, and encoding it was the last per-reply cost that grew with its
    length (4 us for a `/idl deadlines` list)."""
    if reply.props:
        return json_response(reply_payload(reply))
    key = (reply.ephemeral, reply.text)
    body = _BODIES.get(key)
    if body is None:
        if len(_BODIES) >= KEEP_BODIES:
            _BODIES.clear()
        body = _BODIES[key] = json.dumps(reply_payload(reply)).encode()
    return web.Response(body=body, content_type="application/json")


KEEP_BODIES = 1024
_BODIES: dict[tuple[bool, str], bytes] = {}


def reply_payload(reply: Reply) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "response_type": "ephemeral" if reply.ephemeral else "in_channel",
        "text": reply.text,
        "skip_slack_parsing": True,
    }
    if reply.props:
        payload["props"] = reply.props
    return payload


def token_ok(expected: str, header: str | None, field: str | None) -> bool:
    """Every token that was sent must match, and at least one must have been sent."""
    sent = [t for t in (header, field) if t is not None]
    if not sent or not expected:
        return False
    results = [hmac.compare_digest(secret_bytes(t), expected.encode()) for t in sent]
    return all(results)


def header_token(request: web.Request) -> str | None:
    value = request.headers.get("Authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "token" else ""


async def _raw_form(request: web.Request) -> bytes:
    """The form as bytes, undecoded: from the body of a POST, else the query string.
    aiohttp's `request.post()` decodes before anything can be checked, and raised on a
    raw non-UTF-8 byte, a 500 before the token was even looked at."""
    if request.method == "POST":
        return await request.read()
    return request.rel_url.raw_query_string.encode("utf-8", "surrogatepass")


def _unauthorized(request: web.Request, why: str) -> web.Response:
    log.warning(
        "slash command rejected: %s from %s",
        why,
        request.remote,
        extra={"event": "slash", "outcome": "unauthorized"},
    )
    return json_response({"error": "unauthorized"}, status=401)


def _course(matching: Sequence[SlashCourse], team_id: str | None) -> SlashCourse | None:
    """The course the command is for: the one whose token it carries and whose team sent
    it. A course whose team id is not known yet (before the bot has logged in; always in a
    one-course deployment, which checks no team) is taken on its token alone."""
    by_team = [c for c in matching if c.team_id() and c.team_id() == team_id]
    if by_team:
        return by_team[0]
    if len(matching) == 1 and not matching[0].team_id():
        return matching[0]
    return None


async def mattermost_command(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    raw = await _raw_form(request)
    header, field = header_token(request), slash_form.token_field(raw)
    # every course's token is compared (in constant time), so timing tells nothing either
    checked = [(c, token_ok(c.token, header, field)) for c in deps.slash_courses()]
    matching = [c for c, ok in checked if ok]
    if not matching:
        return _unauthorized(request, "bad or missing token")
    try:
        form = slash_form.parse(raw)
    except BadInput as err:
        return bad_request(request, "slash", err)
    course = _course(matching, form.team_id)
    if course is None:
        return _unauthorized(request, "a token of another team's /idl")
    text, response_url = form.text, form.response_url
    run = course.dispatcher.run(form.user_id, form.channel_id, text, "slash", form.user_name)
    if deps.dispatcher.registry.is_slow(text):
        deps.tasks.spawn(_answer_later(deps, asyncio.ensure_future(run), response_url), origin="slash later")
        return json_response({"response_type": "ephemeral", "text": "Working on it…"})
    # A task even for a command answered from memory. Not an eager start (its first step
    # here, a task only if it waits): a timeout entered in that step (SQLAlchemy's pool
    # wait, asyncpg's connect) would belong to the handler's task. And measured under 64
    # clients it was slower: 187-193 against 139-167 us of CPU per `/idl deadlines`, wrk's
    # CPU per request 30 against 19 us; the answers went out one by one as each request
    # was read, not in batches one loop turn later (README, "Tried and dropped").
    task = asyncio.ensure_future(run)
    if await deps.budget.wait(task):
        return reply_response(task.result())
    deps.tasks.spawn(_answer_later(deps, task, response_url), origin="slash later")
    return json_response({"response_type": "ephemeral", "text": "Working on it…"})


async def _answer_later(deps: WebDeps, task: asyncio.Future[Reply], response_url: str) -> None:
    """Mattermost allows 5 uses of response_url within 30 minutes; one is enough."""
    reply = await task
    async with deps.http().post(
        response_url, json=reply_payload(reply), timeout=aiohttp.ClientTimeout(total=10)
    ) as resp:
        if resp.status != 200:
            log.warning("response_url answered %d", resp.status)


def snapshot_json(snap: HealthSnapshot) -> dict[str, Any]:
    return {
        "status": "degraded" if snap.degraded else "ok",
        "process": "up",
        "websocket": {
            "state": snap.websocket_state,
            "connected": snap.websocket_connected,
            "reconnects": snap.reconnects,
        },
        "database": {
            "reachable": snap.database_ok,
            "schema_revision": snap.schema_revision,
            "schema_head": snap.schema_head,
        },
        "outbox": {
            "backlog": snap.outbox_backlog,
            "oldest_pending": snap.oldest_pending.isoformat() if snap.oldest_pending else None,
        },
        "version": snap.version,
        "replica": {"id": snap.replica, "leases": sorted(snap.leases), "passes": sorted(snap.passes)},
    }


async def healthz(request: web.Request) -> web.Response:
    """200 or 503 from `Health.snapshot()`, which holds the websocket state in memory and
    reads the database on its own connection, cached briefly (see `services.health`), so
    this answers in one loop turn even while every slash command waits on the database."""
    snap = await request.app[DEPS].health.snapshot()
    return json_response(snapshot_json(snap), status=503 if snap.degraded else 200)


async def metrics(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    if deps.on_scrape is not None:
        await deps.on_scrape(await deps.health.snapshot())
    return web.Response(body=deps.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def build_web_app(deps: WebDeps) -> web.Application:
    app = web.Application()
    app[DEPS] = deps
    app.router.add_post("/mattermost/command", mattermost_command)
    app.router.add_get("/mattermost/command", mattermost_command)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_server(
    app: web.Application, host: str, port: int, *, shutdown_timeout: float = 60.0
) -> tuple[web.AppRunner, int]:
    """Serve `app` on host:port; the runner (`cleanup()` stops it) and the port bound, which
    differs from `port` when that is 0 (tests and the demo let the OS pick a free one)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    log.info("listening on %s:%s", host, bound)
    return runner, bound
