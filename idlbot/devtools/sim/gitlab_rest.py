"""Routing, parameter parsing and offset pagination of the GitLab simulator's `/api/v4`.

Routes match the still-encoded request path (`raw_path`), so `course%2Fse` is one
segment and a raw wiki slug `blog/alice/x` is several; captured values are decoded
afterwards, as GitLab (and aiohttp's `match_info`) do (endpoints.md §0).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from aiohttp import web
from multidict import MultiMapping

from idlbot.devtools.sim.gitlab_faults import SimError, bad_param, forbidden, not_found
from idlbot.devtools.sim.gitlab_state import Group, Hook, Issue, Project, SimState, User

TRUE = {"true", "1", "t", "yes", "y", "on"}
DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_COUNT = 20, 100, 10_000


@dataclass
class Ctx:
    """One authenticated request as the handlers see it."""

    request: web.Request
    state: SimState
    params: dict[str, str]  # decoded path captures
    query: MultiMapping[str]
    body: dict[str, Any]
    user: User
    base: str  # the client's own scheme://host:port, for web_url and Link

    def arg(self, name: str) -> Any:
        """Grape merges query and body parameters; the body wins."""
        if name in self.body:
            return self.body[name]
        return self.query.get(name)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        if value is None:
            return default
        return value is True or str(value).lower() in TRUE

    def project(self) -> Project:
        """404 both for a missing project and for one the token may not see."""
        p = self.state.project(self.params["id"])
        if p is None or not self.state.can_read_project(p, self.user):
            raise not_found("Project")
        return p

    def group(self) -> Group:
        g = self.state.group(self.params["id"])
        if g is None or not self.state.can_read_group(g, self.user):
            raise not_found("Group")
        return g

    def issue(self, p: Project) -> Issue:
        iid = self.params["iid"]
        i = p.issues.get(int(iid)) if iid.isdigit() else None
        if i is None:
            raise not_found("Issue")
        return i

    def require_level(self, p: Project, level: int) -> None:
        if not self.user.admin and self.state.project_level(p, self.user) < level:
            raise forbidden()


Result = tuple[int, Any, dict[str, str]]
Handler = Callable[[Ctx], Awaitable[Result]]


@dataclass
class Route:
    method: str
    template: str  # "/projects/:id/issues/:iid", for `sim.requests` assertions
    regex: re.Pattern[str]
    handler: Handler


def compile_route(method: str, template: str, handler: Handler) -> Route:
    """`:name` matches one encoded segment; `:slug` (wiki) matches the rest of the path."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        return f"(?P<{name}>.+)" if name == "slug" else f"(?P<{name}>[^/]+)"

    pattern = re.sub(r":([a-z_]+)", repl, template)
    return Route(method, template, re.compile(f"/api/v4{pattern}"), handler)


def match(routes: Sequence[Route], method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    path = raw_path.split("?", 1)[0].rstrip("/") or "/"
    for route in routes:
        m = route.regex.fullmatch(path)
        if m and route.method == method:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def read_body(request: web.Request, raw: bytes) -> dict[str, Any]:
    """python-gitlab sends JSON bodies; curl users send forms. Both are accepted."""
    if not raw:
        return {}
    ctype = request.headers.get("Content-Type", "")
    if "json" in ctype or raw[:1] in (b"{", b"["):
        try:
            value = json.loads(raw)
        except ValueError:
            raise SimError(400, {"error": "400 Bad Request"}) from None
        return value if isinstance(value, dict) else {}
    from urllib.parse import parse_qsl

    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def parse_time(value: Any, name: str) -> datetime | None:
    """ISO 8601 with `T` or a space (python-gitlab's `str(datetime)`), `Z` or an offset."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise bad_param(f"{name} is invalid") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_date(value: Any, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise bad_param(f"{name} is invalid") from None


def enum(ctx: Ctx, name: str, allowed: Sequence[str], default: str | None) -> str | None:
    value = ctx.arg(name)
    if value is None or value == "":
        return default
    if str(value) not in allowed:
        raise bad_param(f"{name} does not have a valid value")
    return str(value)


def paginate(ctx: Ctx, items: Sequence[Any]) -> tuple[list[Any], dict[str, str]]:
    """OffsetHeaderBuilder: X-* headers and an absolute Link on the client's base URL.

    Link URLs carry every request parameter plus the path `id` (sorted like Rails'
    `to_query`), because python-gitlab follows `rel="next"` verbatim and nothing else.
    """
    page_raw, per_raw = ctx.query.get("page", "1"), ctx.query.get("per_page", str(DEFAULT_PER_PAGE))
    try:
        page, per_page = int(page_raw), int(per_raw)
    except ValueError:
        raise bad_param("page is invalid") from None
    if page < 1:
        raise bad_param("page does not have a valid value")
    if per_page < 1:
        raise bad_param("per_page has a value not allowed")
    per_page = min(per_page, MAX_PER_PAGE)
    total = len(items)
    pages = max(1, -(-total // per_page))
    chunk = list(items[(page - 1) * per_page : page * per_page])
    counted = total <= MAX_COUNT
    has_next = page * per_page < total

    pairs = [(k, v) for k, v in ctx.query.items() if k not in ("page", "per_page")]
    if "id" in ctx.params and "id" not in ctx.query:
        pairs.append(("id", ctx.params["id"]))

    def link(n: int) -> str:
        query = urlencode(sorted([*pairs, ("page", str(n)), ("per_page", str(per_page))]))
        return f"{ctx.base}{ctx.request.raw_path.split('?', 1)[0]}?{query}"

    rels = []
    if page > 1:
        rels.append(f'<{link(page - 1)}>; rel="prev"')
    if has_next:
        rels.append(f'<{link(page + 1)}>; rel="next"')
    rels.append(f'<{link(1)}>; rel="first"')
    if counted:
        rels.append(f'<{link(pages)}>; rel="last"')
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if has_next else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
        "Link": ", ".join(rels),
    }
    if counted:
        headers["X-Total"], headers["X-Total-Pages"] = str(total), str(pages)
    return chunk, headers


def filter_issues(ctx: Ctx, issues: Sequence[Issue]) -> list[Issue]:
    """GET /projects/:id/issues filters; `state` defaults to all (a classic agenda bug)."""
    state = enum(ctx, "state", ("opened", "closed", "all"), "all")
    order_by = enum(
        ctx, "order_by",
        ("created_at", "updated_at", "priority", "due_date", "relative_position", "label_priority",
         "milestone_due", "popularity", "title", "weight"),
        "created_at",
    )  # fmt: skip
    sort = enum(ctx, "sort", ("asc", "desc"), "desc")
    labels = [part.strip() for part in str(ctx.arg("labels") or "").split(",") if part.strip()]
    after, before = (
        parse_time(ctx.arg("created_after"), "created_after"),
        parse_time(ctx.arg("created_before"), "created_before"),
    )
    up_after = parse_time(ctx.arg("updated_after"), "updated_after")
    up_before = parse_time(ctx.arg("updated_before"), "updated_before")
    iids_raw = ctx.query.getall("iids[]", []) or str(ctx.arg("iids") or "").split(",")
    iids = {int(x) for x in iids_raw if str(x).strip().isdigit()}
    author = ctx.arg("author_username")
    search = str(ctx.arg("search") or "").lower()

    def keep(i: Issue) -> bool:
        if state != "all" and i.state != state:
            return False
        if labels == ["None"] or [x.lower() for x in labels] == ["none"]:
            if i.labels:
                return False
        elif [x.lower() for x in labels] == ["any"]:
            if not i.labels:
                return False
        elif not set(labels) <= i.labels:
            return False
        if (after and i.created_at < after) or (before and i.created_at > before):
            return False
        if (up_after and i.updated_at < up_after) or (up_before and i.updated_at > up_before):
            return False
        if iids and i.iid not in iids:
            return False
        if author and ctx.state.users[i.author_id].username.lower() != str(author).lower():
            return False
        return not search or search in (i.title + " " + (i.description or "")).lower()

    found = [i for i in issues if keep(i)]
    found.sort(key=lambda i: -i.id)  # every ordering breaks ties by id DESC (with_order_id_desc)
    key: Callable[[Issue], Any] = {
        "popularity": lambda i: i.count_awards("thumbsup"),
        "updated_at": lambda i: i.updated_at,
        "title": lambda i: i.title.lower(),
    }.get(order_by or "", lambda i: i.created_at)
    found.sort(key=key, reverse=sort == "desc")  # stable: the id DESC tie-break survives
    return found


def apply_hook_params(ctx: Ctx, hook: Hook, flags: Sequence[str]) -> None:
    """A hook's POST/PUT parameters, as GitLab reads them for project and system hooks:
    only the parameters given change (`url` is the caller's, it is required on create)."""
    for flag in flags:
        if ctx.arg(flag) is not None:
            hook.events[flag] = ctx.flag(flag)
    if ctx.arg("token") is not None:
        hook.token = str(ctx.arg("token"))
    if ctx.arg("enable_ssl_verification") is not None:
        hook.enable_ssl_verification = ctx.flag("enable_ssl_verification")
