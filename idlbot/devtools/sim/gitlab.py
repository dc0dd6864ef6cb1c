"""A protocol-faithful GitLab (REST v4 subset + webhooks) simulator for tests and demos.

An aiohttp app on 127.0.0.1 that the real python-gitlab client talks to over real
sockets. Wire facts follow GitLab's own source (REST API v4 and webhook docs); modules:

* `gitlab_state`  - stored entities
* `gitlab_json`   - REST JSON shapes
* `gitlab_ops`    - state changes that also write events and fire hooks
* `gitlab_rest`   - routing, parameters, offset pagination, issue filters
* `gitlab_routes` - the endpoints
* `gitlab_hooks`  - webhook payloads and the delivery emitter (project and system hooks)
* `gitlab_admin`  - the admin-only system hook endpoints (`/hooks`)
* `gitlab_faults` - error bodies and fault switches

(Over 300 lines: the seeding, inspection and dispatch API tests use, in one place.)
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from aiohttp import web

from idlbot.devtools.sim.gitlab_admin import DEFAULTS as SYSTEM_HOOK_DEFAULTS
from idlbot.devtools.sim.gitlab_admin import SystemHookEndpoints
from idlbot.devtools.sim.gitlab_faults import APP_LIMIT_BODY, RACK_ATTACK_BODY, Faults, SimError, unauthorized
from idlbot.devtools.sim.gitlab_hooks import Emitter, HookDelivery
from idlbot.devtools.sim.gitlab_json import HOOK_EVENT_FLAGS
from idlbot.devtools.sim.gitlab_ops import Ops
from idlbot.devtools.sim.gitlab_rest import Ctx, match, read_body
from idlbot.devtools.sim.gitlab_routes import Endpoints
from idlbot.devtools.sim.gitlab_state import (
    DEVELOPER,
    Group,
    Hook,
    Issue,
    Project,
    SimState,
    User,
    WikiPage,
    real_now,
)

__all__ = ["GitLabSim", "HookDelivery", "RecordedRequest", "SimError"]

Members = Iterable[str] | Mapping[str, int]


@dataclass
class RecordedRequest:
    """One HTTP request the simulator answered (count them to prove one request per page)."""

    method: str
    path: str  # raw (still encoded) path
    route: str | None  # "/projects/:id/issues"; None if unmatched
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str] = field(default_factory=dict)


class GitLabSim:
    """The simulated server: seeding, lifecycle, inspection, faults and webhook emission."""

    def __init__(self, *, clock: Callable[[], datetime] = real_now) -> None:
        self.state = SimState(clock)
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self._emitter = Emitter(lambda: self.url, lambda: self.state.system_hooks.values())
        self._ops = Ops(self.state, self._emitter, lambda: self.url)
        self._routes = Endpoints(self._ops).routes() + SystemHookEndpoints(self.state).routes()
        self._runner: web.AppRunner | None = None
        self._host, self._port = "127.0.0.1", 0

    @property
    def clock(self) -> Callable[[], datetime]:
        """Returns an aware UTC datetime; every timestamp the simulator writes comes from it."""
        return self.state.clock

    @clock.setter
    def clock(self, value: Callable[[], datetime]) -> None:
        self.state.clock = value

    # ---- seeding -------------------------------------------------------------------------
    def add_user(self, username: str, *, name: str | None = None, admin: bool = False,
                 bot: bool = False) -> dict[str, Any]:  # fmt: skip
        user = User(self.state.next_id("user", 2), username, name or username, bot, admin,
                    f"{username}@example.edu")  # fmt: skip
        self.state.users[user.id] = user
        return {"id": user.id, "username": user.username, "name": user.name}

    def issue_token(self, username: str) -> str:
        """A personal access token for that user (works as PRIVATE-TOKEN and as Bearer)."""
        token = "glpat-" + secrets.token_urlsafe(15)
        self.state.tokens[token] = self.state.require_user(username).id
        return token

    def revoke_token(self, token: str) -> None:
        self.state.tokens.pop(token, None)

    def add_group(self, path: str, *, members: Members = (), visibility: str = "private") -> dict[str, Any]:
        """`path` is the full path; parents must exist ("idl2018" before "idl2018/assignments")."""
        parent_path, _, _ = path.rpartition("/")
        parent = self.state.group(parent_path) if parent_path else None
        if parent_path and parent is None:
            raise KeyError(f"add the parent group {parent_path} first")
        g = Group(self.state.next_id("group", 5), path, path.rsplit("/", 1)[-1],
                  parent.id if parent else None, visibility, self.state.now())  # fmt: skip
        g.members.update(self._levels(members))
        self.state.groups[g.id] = g
        return {"id": g.id, "full_path": g.full_path}

    def add_project(
        self, path: str, *, members: Members = (), visibility: str = "private", description: str = ""
    ) -> dict[str, Any]:
        """A project in the group named by the path's namespace (or a user namespace)."""
        ns = path.rpartition("/")[0]
        group = self.state.group(ns) if ns else None
        p = Project(self.state.next_id("project", 40), path, path.rsplit("/", 1)[-1],
                    group.id if group else None, visibility, self.state.now(), description)  # fmt: skip
        p.members.update(self._levels(members))
        self.state.projects[p.id] = p
        return {"id": p.id, "path_with_namespace": p.path_with_namespace}

    def add_member(self, project: str | int, username: str, level: int = DEVELOPER) -> None:
        self.state.require_project(project).members[self.state.require_user(username).id] = level

    def _levels(self, members: Members) -> dict[int, int]:
        if isinstance(members, Mapping):
            return {self.state.require_user(u).id: lvl for u, lvl in members.items()}
        return {self.state.require_user(u).id: DEVELOPER for u in members}

    def add_hook(self, project: str | int, url: str, *, token: str = "", events: Iterable[str] = ()) -> int:
        """Register a project hook; `events` are flags like "tag_push_events" (REST does the same)."""
        p = self.state.require_project(project)
        flags = {flag: flag in set(events) for flag in HOOK_EVENT_FLAGS}
        hook = Hook(self.state.next_id("hook"), p.id, url, token, flags, self.state.now())
        p.hooks[hook.id] = hook
        return hook.id

    def add_system_hook(self, url: str, *, token: str = "", events: Iterable[str] = ()) -> int:
        """An instance-wide hook, as an admin would add it (`events`: "tag_push_events", ...;
        the rest keep GitLab's defaults, so `repository_update_events` stays on)."""
        flags = {**SYSTEM_HOOK_DEFAULTS, **{flag: True for flag in events}}
        hook = Hook(self.state.next_id("hook"), None, url, token, flags, self.state.now())
        self.state.system_hooks[hook.id] = hook
        return hook.id

    def archive(self, project: str | int, archived: bool = True) -> None:
        """Archived projects are read-only (no pushes) and still listed in their group."""
        self.state.require_project(project).archived = archived

    # ---- acting as users (each leaves GitLab's events and fires its hooks) ---------------
    def push_tag(self, project: str | int, tag: str, *, user: str, at: datetime | None = None,
                 message: str = "") -> None:  # fmt: skip
        """Records the push event with receive time `at` (default `clock()`), Tag Push Hook."""
        p = self.state.require_project(project)
        self._ops.push_tag(p, tag, self.state.require_user(user), at, message)

    def delete_tag(self, project: str | int, tag: str, *, user: str, at: datetime | None = None) -> None:
        p = self.state.require_project(project)
        self._ops.delete_tag(p, tag, self.state.require_user(user), at)

    def create_wiki_page(self, project: str | int, title: str, content: str, *, user: str,
                         at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
        p = self.state.require_project(project)
        page = self._ops.create_wiki(p, title, content, self.state.require_user(user), at=at)
        return {"slug": page.slug, "meta_id": page.meta_id}

    def add_issue(self, project: str | int, title: str, *, author: str, labels: Iterable[str] = (),
                  description: str | None = None, at: datetime | None = None,
                  confidential: bool = False) -> dict[str, Any]:  # fmt: skip
        p = self.state.require_project(project)
        issue = self._ops.create_issue(
            p, title, self.state.require_user(author), labels=labels, description=description, at=at,
            confidential=confidential,
        )  # fmt: skip
        return {"id": issue.id, "iid": issue.iid}

    def award(self, project: str | int, iid: int, name: str, *, user: str) -> int:
        """An emoji reaction; only the Emoji Hook fires (no Issue Hook), like GitLab."""
        p = self.state.require_project(project)
        return self._ops.award(p, p.issues[iid], name, self.state.require_user(user)).id

    def revoke(self, project: str | int, iid: int, award_id: int, *, user: str) -> None:
        p = self.state.require_project(project)
        self._ops.revoke(p, p.issues[iid], award_id, self.state.require_user(user))

    def add_note(self, project: str | int, iid: int, body: str, *, user: str) -> int:
        p = self.state.require_project(project)
        return self._ops.add_note(p, p.issues[iid], body, self.state.require_user(user)).id

    def close_issue(self, project: str | int, iid: int, *, user: str) -> None:
        p = self.state.require_project(project)
        self._ops.update_issue(p, p.issues[iid], self.state.require_user(user), {"state_event": "close"})

    # ---- inspection ----------------------------------------------------------------------
    def issue(self, project: str | int, iid: int) -> Issue:
        return self.state.require_project(project).issues[iid]

    def wiki_page(self, project: str | int, slug: str) -> WikiPage | None:
        return self.state.require_project(project).wiki.get(slug)

    def project(self, project: str | int) -> Project:
        return self.state.require_project(project)

    def hooks(self, project: str | int) -> list[Hook]:
        return list(self.state.require_project(project).hooks.values())

    @property
    def system_hooks(self) -> list[Hook]:
        return list(self.state.system_hooks.values())

    @property
    def deliveries(self) -> list[HookDelivery]:
        return self._emitter.deliveries

    @property
    def hooks_enabled(self) -> bool:
        return self._emitter.enabled

    @hooks_enabled.setter
    def hooks_enabled(self, value: bool) -> None:
        """False: events are still written (the API sees them) but no hook is sent."""
        self._emitter.enabled = value

    def redeliver(self, n: int = -1) -> HookDelivery:
        """Resend `deliveries[n]` ("Resend Request"): same body and Idempotency-Key."""
        return self._emitter.redeliver(n)

    async def flush_hooks(self) -> None:
        """Wait for every queued webhook delivery to finish."""
        await self._emitter.drain()

    def routed(self, route: str, method: str = "GET") -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route and r.method == method]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        self._host, self._port = host, int(self._runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        """Stop listening (state is kept) after the queued hooks went out."""
        await self._emitter.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        await self.stop()
        await self.start(self._host, self._port)

    async def __aenter__(self) -> GitLabSim:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ---- HTTP dispatch -------------------------------------------------------------------
    def _token_user(self, request: web.Request) -> User | None:
        token = request.headers.get("PRIVATE-TOKEN", "")
        auth = request.headers.get("Authorization", "")
        if not token and auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        uid = self.state.tokens.get(token) if token else None
        return self.state.users.get(uid) if uid is not None else None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        route_name: str | None = None
        try:
            matched = match(self._routes, request.method, request.raw_path)
            route_name = matched[0].template if matched else None
            user = self._token_user(request)
            limited = self._throttle(request, user)
            if limited is not None:
                return self._record(request, body, route_name, limited)
            if self.faults.latency > 0:
                await asyncio.sleep(self.faults.latency)
            if matched is None:
                raise SimError(404, {"error": "404 Not Found"})
            if user is None:
                raise unauthorized()
            injected = self.faults.take_failure(request.method, route_name)
            if injected is not None:
                raise injected
            route, params = matched
            base = f"{request.scheme}://{request.host}"
            ctx = Ctx(request, self.state, params, request.query, read_body(request, body), user, base)
            status, payload, headers = await route.handler(ctx)
            resp = self._json(status, payload, headers)
        except SimError as exc:
            resp = self._json(exc.status, exc.body, {})
        return self._record(request, body, route_name, resp)

    def _throttle(self, request: web.Request, user: User | None) -> web.Response | None:
        limiter = self.faults.limiter
        if limiter is None:
            return None
        key = f"user:{user.id}" if user else f"ip:{request.remote}"
        wait = limiter.take(key)
        if wait <= 0:
            return None
        headers = limiter.headers(key, wait)
        if self.faults.rate_limit_style == "application":
            return self._json(429, APP_LIMIT_BODY, headers)
        return web.Response(
            status=429, body=RACK_ATTACK_BODY, headers={"Content-Type": "text/plain", **headers}
        )

    @staticmethod
    def _json(status: int, payload: Any, headers: dict[str, str]) -> web.Response:
        import json

        if status == 204:
            return web.Response(status=204, headers=headers)
        data = json.dumps(payload, separators=(",", ":")).encode()
        return web.Response(status=status, body=data, headers={"Content-Type": "application/json", **headers})

    def _record(
        self, request: web.Request, body: bytes, route: str | None, resp: web.Response
    ) -> web.Response:
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.raw_path.split("?", 1)[0],
                route=route,
                query=list(request.query.items()),
                headers=dict(request.headers),
                body=body,
                status=resp.status,
                response_headers=dict(resp.headers),
            )
        )
        return resp
