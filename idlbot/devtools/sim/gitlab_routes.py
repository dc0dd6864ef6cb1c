"""The `/api/v4` endpoints of the GitLab simulator, one method per route (endpoints.md).

Handlers return `(status, json, extra_headers)`; lists go through `paginate` except
the wiki list, which GitLab does not paginate.

(Over 300 lines: one short method per route, so each route reads next to its rules.)
"""

from __future__ import annotations

from typing import Any

from idlbot.devtools.sim import gitlab_json as js
from idlbot.devtools.sim.gitlab_faults import bad_param, not_found
from idlbot.devtools.sim.gitlab_ops import Ops, as_list
from idlbot.devtools.sim.gitlab_rest import (
    Ctx,
    Result,
    Route,
    apply_hook_params,
    compile_route,
    enum,
    filter_issues,
    paginate,
    parse_date,
)
from idlbot.devtools.sim.gitlab_state import (
    DEVELOPER,
    EVENT_ACTIONS,
    MAINTAINER,
    REPORTER,
    REVISION,
    TARGET_TYPES,
    VERSION,
    Hook,
)

ISSUE_UPDATE_KEYS = (
    "title", "description", "assignee_ids", "assignee_id", "milestone_id", "labels", "add_labels",
    "remove_labels", "state_event", "due_date", "confidential", "discussion_locked", "issue_type",
    "created_at",
)  # fmt: skip


class Endpoints:
    def __init__(self, ops: Ops) -> None:
        self.ops = ops
        self.state = ops.state

    def routes(self) -> list[Route]:
        table = [
            ("GET", "/user", self.get_user),
            ("GET", "/version", self.get_version),
            ("GET", "/users", self.list_users),
            ("GET", "/groups/:id", self.get_group),
            ("GET", "/groups/:id/projects", self.group_projects),
            ("GET", "/groups/:id/members/all", self.group_members),
            ("GET", "/projects/:id", self.get_project),
            ("GET", "/projects/:id/members/all", self.project_members),
            ("GET", "/projects/:id/repository/tags", self.list_tags),
            ("GET", "/projects/:id/events", self.list_events),
            ("GET", "/projects/:id/wikis", self.list_wikis),
            ("POST", "/projects/:id/wikis", self.create_wiki),
            ("GET", "/projects/:id/wikis/:slug", self.get_wiki),
            ("PUT", "/projects/:id/wikis/:slug", self.update_wiki),
            ("DELETE", "/projects/:id/wikis/:slug", self.delete_wiki),
            ("GET", "/projects/:id/issues", self.list_issues),
            ("GET", "/projects/:id/issues/:iid", self.get_issue),
            ("PUT", "/projects/:id/issues/:iid", self.update_issue),
            ("GET", "/projects/:id/issues/:iid/award_emoji", self.list_awards),
            ("POST", "/projects/:id/issues/:iid/award_emoji", self.create_award),
            ("GET", "/projects/:id/issues/:iid/award_emoji/:award_id", self.get_award),
            ("DELETE", "/projects/:id/issues/:iid/award_emoji/:award_id", self.delete_award),
            ("GET", "/projects/:id/issues/:iid/notes", self.list_notes),
            ("POST", "/projects/:id/issues/:iid/notes", self.create_note),
            ("GET", "/projects/:id/hooks", self.list_hooks),
            ("POST", "/projects/:id/hooks", self.create_hook),
            ("GET", "/projects/:id/hooks/:hook_id", self.get_hook),
            ("PUT", "/projects/:id/hooks/:hook_id", self.update_hook),
            ("DELETE", "/projects/:id/hooks/:hook_id", self.delete_hook),
        ]
        return [compile_route(m, t, h) for m, t, h in table]

    # ---- users, version ------------------------------------------------------------------
    async def get_user(self, ctx: Ctx) -> Result:
        return 200, js.current_user(ctx.user, ctx.base, self.state.now()), {}

    async def get_version(self, ctx: Ctx) -> Result:
        return 200, {"version": f"{VERSION}-ee", "revision": REVISION, "kas": {"enabled": False},
                     "enterprise": True}, {}  # fmt: skip

    async def list_users(self, ctx: Ctx) -> Result:
        users = list(self.state.users.values())
        name = ctx.arg("username")
        if name is not None:
            found = self.state.user_by_name(str(name))
            users = [found] if found else []
        items, headers = paginate(ctx, users)
        return 200, [js.user_basic(u, ctx.base) for u in items], headers

    # ---- groups --------------------------------------------------------------------------
    async def get_group(self, ctx: Ctx) -> Result:
        return 200, js.group(ctx.group(), ctx.base), {}

    async def group_projects(self, ctx: Ctx) -> Result:
        g = ctx.group()
        ids = {x.id for x in self.state.descendants(g)} if ctx.flag("include_subgroups") else {g.id}
        found = [p for p in self.state.projects.values() if p.namespace_id in ids]
        if ctx.arg("archived") is not None:  # absent: both; true/false: only those
            found = [p for p in found if p.archived == ctx.flag("archived")]
        found = [p for p in found if self.state.can_read_project(p, ctx.user)]
        found.sort(key=lambda p: (p.created_at, p.id), reverse=ctx.arg("sort") != "asc")
        items, headers = paginate(ctx, found)
        return 200, [js.project(self.state, p, ctx.base) for p in items], headers

    async def group_members(self, ctx: Ctx) -> Result:
        g = ctx.group()
        rows = sorted(self.state.group_members_all(g).items())
        items, headers = paginate(ctx, rows)
        out = [js.member(self.state.users[uid], lvl, ctx.base, g.created_at) for uid, lvl in items]
        return 200, out, headers

    # ---- projects ------------------------------------------------------------------------
    async def get_project(self, ctx: Ctx) -> Result:
        return 200, js.project(self.state, ctx.project(), ctx.base), {}

    async def project_members(self, ctx: Ctx) -> Result:
        p = ctx.project()
        rows = sorted(self.state.project_members_all(p).items())
        items, headers = paginate(ctx, rows)
        out = [js.member(self.state.users[uid], lvl, ctx.base, p.created_at) for uid, lvl in items]
        return 200, out, headers

    async def list_tags(self, ctx: Ctx) -> Result:
        p = ctx.project()
        tags = sorted(p.tags.values(), key=lambda t: t.created_at, reverse=True)
        items, headers = paginate(ctx, tags)
        return 200, [js.tag(t) for t in items], headers

    async def list_events(self, ctx: Ctx) -> Result:
        """`after`/`before` are dates and exclusive (EventsFinder: > end_of_day, < beginning_of_day)."""
        p = ctx.project()
        action = enum(ctx, "action", EVENT_ACTIONS, None)
        target = enum(ctx, "target_type", tuple(TARGET_TYPES), None)
        sort = enum(ctx, "sort", ("asc", "desc"), "desc")
        after, before = parse_date(ctx.arg("after"), "after"), parse_date(ctx.arg("before"), "before")
        found = [e for e in self.state.events if e.project_id == p.id]
        if action:
            found = [e for e in found if e.action == action]
        if target:
            found = [e for e in found if e.target_type == TARGET_TYPES[target]]
        if after:
            found = [e for e in found if e.created_at.date() > after]
        if before:
            found = [e for e in found if e.created_at.date() < before]
        found.sort(key=lambda e: e.id, reverse=sort == "desc")
        items, headers = paginate(ctx, found)
        return 200, [js.event(self.state, e, ctx.base) for e in items], headers

    # ---- wikis ---------------------------------------------------------------------------
    async def list_wikis(self, ctx: Ctx) -> Result:
        p = ctx.project()
        pages = sorted(p.wiki.values(), key=lambda w: w.slug)
        shape = js.wiki_full if ctx.flag("with_content") else js.wiki_basic
        return 200, [shape(w) for w in pages], {}

    async def get_wiki(self, ctx: Ctx) -> Result:
        page = ctx.project().wiki.get(ctx.params["slug"])
        if page is None:
            raise not_found("Wiki Page")
        return 200, js.wiki_full(page), {}

    async def create_wiki(self, ctx: Ctx) -> Result:
        p = ctx.project()
        ctx.require_level(p, DEVELOPER)
        title, content = ctx.arg("title"), ctx.arg("content")
        missing = [n for n, v in (("title", title), ("content", content)) if v is None]
        if missing:
            raise bad_param(", ".join(missing) + (" is missing" if len(missing) == 1 else " are missing"))
        fmt = enum(ctx, "format", ("markdown", "rdoc", "asciidoc", "org"), "markdown") or "markdown"
        page = self.ops.create_wiki(p, str(title), str(content), ctx.user, fmt=fmt)
        return 201, js.wiki_full(page), {}

    async def update_wiki(self, ctx: Ctx) -> Result:
        p = ctx.project()
        ctx.require_level(p, DEVELOPER)
        content, title, fmt = ctx.arg("content"), ctx.arg("title"), ctx.arg("format")
        if content is None and title is None and fmt is None:
            raise bad_param("content, title, format are missing, at least one parameter must be provided")
        page = self.ops.update_wiki(
            p, ctx.params["slug"], ctx.user, content=None if content is None else str(content),
            title=None if title is None else str(title), fmt=None if fmt is None else str(fmt),
        )  # fmt: skip
        return 200, js.wiki_full(page), {}

    async def delete_wiki(self, ctx: Ctx) -> Result:
        p = ctx.project()
        ctx.require_level(p, DEVELOPER)
        self.ops.delete_wiki(p, ctx.params["slug"], ctx.user)
        return 204, None, {}

    # ---- issues --------------------------------------------------------------------------
    async def list_issues(self, ctx: Ctx) -> Result:
        p = ctx.project()
        found = filter_issues(ctx, list(p.issues.values()))
        items, headers = paginate(ctx, found)
        return 200, [js.issue(self.state, p, i, ctx.base) for i in items], headers

    async def get_issue(self, ctx: Ctx) -> Result:
        p = ctx.project()
        return 200, {**js.issue(self.state, p, ctx.issue(p), ctx.base), "subscribed": False}, {}

    async def update_issue(self, ctx: Ctx) -> Result:
        p = ctx.project()
        i = ctx.issue(p)
        ctx.require_level(p, REPORTER)
        params = {k: ctx.arg(k) for k in ISSUE_UPDATE_KEYS if ctx.arg(k) is not None}
        if not params:
            raise bad_param(
                ", ".join(ISSUE_UPDATE_KEYS) + " are missing, at least one parameter must be provided"
            )
        if params.get("state_event") not in (None, "close", "reopen"):
            raise bad_param("state_event does not have a valid value")
        self.ops.update_issue(p, i, ctx.user, params)
        return 200, {**js.issue(self.state, p, i, ctx.base), "subscribed": False}, {}

    async def list_awards(self, ctx: Ctx) -> Result:
        p = ctx.project()
        items, headers = paginate(ctx, ctx.issue(p).awards)
        return 200, [js.award(self.state, a, ctx.base) for a in items], headers

    async def get_award(self, ctx: Ctx) -> Result:
        p = ctx.project()
        award = next((a for a in ctx.issue(p).awards if str(a.id) == ctx.params["award_id"]), None)
        if award is None:
            raise not_found("Award Emoji")
        return 200, js.award(self.state, award, ctx.base), {}

    async def create_award(self, ctx: Ctx) -> Result:
        p = ctx.project()
        name = ctx.arg("name")
        if name is None:
            raise bad_param("name is missing")
        award = self.ops.award(p, ctx.issue(p), str(name), ctx.user)
        return 201, js.award(self.state, award, ctx.base), {}

    async def delete_award(self, ctx: Ctx) -> Result:
        p = ctx.project()
        raw = ctx.params["award_id"]
        self.ops.revoke(p, ctx.issue(p), int(raw) if raw.isdigit() else -1, ctx.user)
        return 204, None, {}

    async def list_notes(self, ctx: Ctx) -> Result:
        p = ctx.project()
        i = ctx.issue(p)
        key = "updated_at" if ctx.arg("order_by") == "updated_at" else "created_at"
        notes = sorted(i.notes, key=lambda n: (getattr(n, key), n.id), reverse=ctx.arg("sort") != "asc")
        items, headers = paginate(ctx, notes)
        return 200, [js.note(self.state, p, i, n, ctx.base) for n in items], headers

    async def create_note(self, ctx: Ctx) -> Result:
        p = ctx.project()
        i = ctx.issue(p)
        body = ctx.arg("body")
        if body is None:
            raise bad_param("body is missing")
        note = self.ops.add_note(p, i, str(body), ctx.user)
        return 201, js.note(self.state, p, i, note, ctx.base), {}

    # ---- hooks ---------------------------------------------------------------------------
    def _hooks_of(self, ctx: Ctx) -> Any:
        """The project whose hooks are asked for; managing hooks needs Maintainer."""
        p = ctx.project()
        ctx.require_level(p, MAINTAINER)
        return p

    def _hook(self, ctx: Ctx) -> tuple[Any, Hook]:
        p = self._hooks_of(ctx)
        raw = ctx.params.get("hook_id", "")
        hook = p.hooks.get(int(raw)) if raw.isdigit() else None
        if hook is None:
            raise not_found("Hook")
        return p, hook

    async def list_hooks(self, ctx: Ctx) -> Result:
        p = self._hooks_of(ctx)
        items, headers = paginate(ctx, sorted(p.hooks.values(), key=lambda h: h.id))
        return 200, [js.hook(h) for h in items], headers

    async def create_hook(self, ctx: Ctx) -> Result:
        p = self._hooks_of(ctx)
        url = ctx.arg("url")
        if not url:
            raise bad_param("url is missing")
        # push_events defaults to true on a new hook; every other event is opt-in.
        hook = Hook(self.state.next_id("hook"), p.id, str(url), "", {"push_events": True}, self.state.now())
        apply_hook_params(ctx, hook, js.HOOK_EVENT_FLAGS)
        p.hooks[hook.id] = hook
        return 201, js.hook(hook), {}

    async def get_hook(self, ctx: Ctx) -> Result:
        _, hook = self._hook(ctx)
        return 200, js.hook(hook), {}

    async def update_hook(self, ctx: Ctx) -> Result:
        _, hook = self._hook(ctx)
        if ctx.arg("url"):
            hook.url = str(ctx.arg("url"))
        apply_hook_params(ctx, hook, js.HOOK_EVENT_FLAGS)
        return 200, js.hook(hook), {}

    async def delete_hook(self, ctx: Ctx) -> Result:
        p, hook = self._hook(ctx)
        del p.hooks[hook.id]
        return 204, None, {}


__all__ = ["Endpoints", "as_list"]
