"""The `GitLab` port on python-gitlab (synchronous), run in a small dedicated thread pool.

Why this shape (read from python-gitlab's source, `gitlab/client.py` and `gitlab/utils.py`):
* python-gitlab is sync and sleeps inside its retry loop, so every call runs via
  `loop.run_in_executor` on our own bounded pool - never the loop's default executor,
  which a long `Retry-After` would starve.
* `timeout=` is always set (the library default waits forever); `retry_transient_errors`
  retries 5xx and connection errors with 0.1 s * 2^n backoff, and 429 is retried by the
  library honouring `Retry-After` (utils.Retry.handle_retry_on_status reads
  `Retry-After`, then `RateLimit-Reset`). `max_retries` bounds both.
* Every list is materialised inside the worker thread with `get_all=True`, which
  follows `Link rel="next"`: one request per page, never one per item.
* Issue lists always send `state=opened` - GitLab's default is `all`.
* python-gitlab and what it brings (requests, requests-toolbelt, urllib3) cost 50-70 ms
  of `idlbot run`'s imports (measured: importing the bot took 1.39-1.45 s with them,
  1.34-1.38 s without): they are imported at the first call, in the pool's thread, not
  before the bot answers `/healthz`.

(Over 300 lines: every GitLab call the bot makes, behind the one pool and retry policy.)
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from idlbot.adapters.gitlab.threads import DaemonPool
from idlbot.config import GitLabSettings
from idlbot.domain.errors import Unavailable
from idlbot.domain.gitlab import Repo, TagPush, WikiCreation
from idlbot.ports.gitlab import HookOutcome

if TYPE_CHECKING:
    import gitlab

T = TypeVar("T")
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504, *range(520, 531)})
#: Project/group access tokens act as users named like this (no `bot` flag in members/all).
BOT_USERNAME = re.compile(r"^(project|group)_\d+_bot(_[0-9a-f]+)?$|^ghost$|^support-bot$|^alert-bot$")
Upsert = Literal["created", "updated"]


@dataclass(frozen=True)
class Question:
    """An open issue as the agenda needs it. Lives here until domain/gitlab.py takes it."""

    iid: int
    title: str
    author: str
    upvotes: int  # thumbsup only, as GitLab counts them
    downvotes: int
    notes: int  # user_notes_count (non-system comments)
    labels: tuple[str, ...]
    web_url: str
    created_at: datetime


class GitLabError(Unavailable):
    """A failed GitLab call; `status` is None for network errors and timeouts."""

    def __init__(self, status: int | None, message: str, retryable: bool) -> None:
        super().__init__(f"{status or 'network'}: {message}")
        self.status = status
        self.message = message
        self.retryable = retryable


def parse_time(value: str) -> datetime:
    """REST timestamps are ISO 8601 with `Z`; the port promises aware UTC datetimes."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def events_after(since: datetime | None) -> dict[str, str]:
    """Events' `after` is a date and exclusive (> end of that day), so ask for the day before
    and cut at `since` ourselves; GitLab compares days in UTC."""
    if since is None:
        return {}
    return {"after": (since.astimezone(UTC).date() - timedelta(days=1)).isoformat()}


class GitLabClient:
    """Implements `idlbot.ports.GitLab` (plus the agenda calls) for one course."""

    def __init__(
        self, settings: GitLabSettings, token: str, *, max_retries: int = 5, per_page: int = 100
    ) -> None:
        self._settings = settings
        self._token = token
        self._made: gitlab.Gitlab | None = None  # see `_gl`
        self._making = threading.Lock()
        self._pool = DaemonPool(settings.max_workers, thread_name_prefix="gitlab")
        self._opts: dict[str, Any] = {"max_retries": max_retries}
        self._page: dict[str, Any] = {"get_all": True, "per_page": per_page, **self._opts}
        self._ids: dict[str, int] = {}  # resolved once: "project", "group"
        self._paths: dict[int, str] = {}  # repo id -> path_with_namespace
        self._wiki_slugs: dict[str, str] = {}  # title -> slug GitLab returned

    # ---- plumbing ------------------------------------------------------------------------
    @property
    def _gl(self) -> gitlab.Gitlab:
        """The python-gitlab client, made (and the library imported) at the first call."""
        with self._making:
            if self._made is None:
                import gitlab

                self._made = gitlab.Gitlab(
                    self._settings.url,
                    private_token=self._token,
                    timeout=self._settings.request_timeout,
                    retry_transient_errors=True,
                )
            return self._made

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(self._guarded, fn, *args))

    @staticmethod
    def _guarded(fn: Callable[..., T], *args: Any) -> T:
        """Library errors become GitLabError inside the thread, with the status kept."""
        try:
            return fn(*args)
        except Exception as exc:
            import requests  # cheap: python-gitlab imported it when the client was made
            from gitlab.exceptions import GitlabError

            if isinstance(exc, GitlabError):
                code = exc.response_code
                raise GitLabError(code, str(exc.error_message), code in RETRYABLE) from exc
            if isinstance(exc, requests.ConnectionError | requests.Timeout):
                raise GitLabError(None, type(exc).__name__, True) from exc
            raise

    def _project_id(self) -> int:
        if "project" not in self._ids:
            project = self._gl.projects.get(self._settings.project, **self._opts)
            self._ids["project"] = int(project.id)
        return self._ids["project"]

    def _course(self) -> Any:
        return self._gl.projects.get(self._project_id(), lazy=True)

    def _group(self) -> Any:
        if "group" not in self._ids:
            self._ids["group"] = int(self._gl.groups.get(self._settings.assignments_group, **self._opts).id)
        return self._gl.groups.get(self._ids["group"], lazy=True)

    # ---- the GitLab port -----------------------------------------------------------------
    async def assignment_repos(self) -> list[Repo]:
        return await self._run(self._assignment_repos)

    def _assignment_repos(self) -> list[Repo]:
        """Staff are the assignments group's own members (inherited into every repo)."""
        group = self._group()
        staff = {m.username for m in group.members_all.list(**self._page)}
        repos: list[Repo] = []
        for p in group.projects.list(include_subgroups=True, order_by="id", sort="asc", **self._page):
            self._paths[int(p.id)] = p.path_with_namespace
            rows = self._gl.projects.get(p.id, lazy=True).members_all.list(**self._page)
            names = sorted(
                m.username for m in rows if m.username not in staff and not BOT_USERNAME.match(m.username)
            )
            repos.append(Repo(int(p.id), p.path_with_namespace, tuple(names), bool(p.archived)))
        return repos

    async def assignment_projects(self) -> list[Repo]:
        return await self._run(self._assignment_projects)

    def _assignment_projects(self) -> list[Repo]:
        """The group's projects with subgroups (GitLab CE has no group hooks, so each needs
        its own); `get_all` follows every page."""
        rows = self._group().projects.list(include_subgroups=True, order_by="id", sort="asc", **self._page)
        return [Repo(int(p.id), p.path_with_namespace, (), bool(p.archived)) for p in rows]

    async def tag_pushes(self, repo_id: int, *, since: datetime | None = None) -> list[TagPush]:
        return await self._run(self._tag_pushes, repo_id, since)

    def _tag_pushes(self, repo_id: int, since: datetime | None) -> list[TagPush]:
        if repo_id not in self._paths:
            self._paths[repo_id] = self._gl.projects.get(repo_id, **self._opts).path_with_namespace
        project = self._gl.projects.get(repo_id, lazy=True)
        filters: dict[str, Any] = {"action": "pushed", "sort": "asc", **events_after(since), **self._page}
        events = project.events.list(**filters)
        out: list[TagPush] = []
        for e in events:
            data = getattr(e, "push_data", None) or {}
            if data.get("ref_type") != "tag":
                continue
            pushed_at = parse_time(e.created_at)
            if since is not None and pushed_at < since:
                continue
            out.append(
                TagPush(
                    repo_id=repo_id,
                    repo_path=self._paths[repo_id],
                    tag=str(data.get("ref")),
                    pushed_at=pushed_at,
                    pusher=e.author_username,
                    deleted=data.get("action") == "removed",
                )
            )
        return out

    async def wiki_creations(self, *, since: datetime | None = None) -> list[WikiCreation]:
        return await self._run(self._wiki_creations, since)

    def _wiki_creations(self, since: datetime | None) -> list[WikiCreation]:
        """The wiki API has no author or dates; the Events API has both."""
        events = self._course().events.list(
            target_type="wiki", action="created", sort="asc", **events_after(since), **self._page
        )
        out: list[WikiCreation] = []
        for e in events:
            page = getattr(e, "wiki_page", None) or {}
            created = parse_time(e.created_at)
            if since is not None and created < since:
                continue
            out.append(
                WikiCreation(
                    slug=str(page.get("slug", "")),
                    title=str(page.get("title") or e.target_title or ""),
                    author=e.author_username,
                    created_at=created,
                )
            )
        return out

    # ---- agenda --------------------------------------------------------------------------
    async def open_questions(self, label: str | None) -> list[Question]:
        """Open issues, most thumbs-up first (ties: newest first, as GitLab orders them)."""
        return await self._run(self._open_questions, label)

    def _open_questions(self, label: str | None) -> list[Question]:
        filters: dict[str, Any] = {"state": "opened", "order_by": "popularity", "sort": "desc"}
        if label:
            filters["labels"] = label
        issues = self._course().issues.list(**filters, **self._page)
        return [
            Question(
                iid=int(i.iid),
                title=i.title,
                author=i.author["username"],
                upvotes=int(i.upvotes),
                downvotes=int(i.downvotes),
                notes=int(i.user_notes_count),
                labels=tuple(i.labels),
                web_url=i.web_url,
                created_at=parse_time(i.created_at),
            )
            for i in issues
        ]

    async def close_issue(self, iid: int) -> None:
        """`/idl agenda done` with `close_on_done`: the question was discussed in class."""
        await self._run(lambda: self._course().issues.update(iid, {"state_event": "close"}, **self._opts))

    async def set_labels(self, iid: int, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        """`add_labels`/`remove_labels` patch server-side, so concurrent edits are not lost."""
        data: dict[str, str] = {}
        if added := ",".join(add):
            data["add_labels"] = added
        if removed := ",".join(remove):
            data["remove_labels"] = removed
        if data:
            await self._run(lambda: self._course().issues.update(iid, data, **self._opts))

    async def upsert_wiki_page(self, title: str, content: str) -> Upsert:
        return await self._run(self._upsert_wiki, title, content)

    def _upsert_wiki(self, title: str, content: str) -> Upsert:
        wikis = self._course().wikis
        slug = self._wiki_slugs.get(title)
        if slug is None:
            try:
                page = wikis.create({"title": title, "content": content}, **self._opts)
                self._wiki_slugs[title] = page.slug
                return "created"
            except Exception as exc:
                from gitlab.exceptions import GitlabCreateError

                if not isinstance(exc, GitlabCreateError) or exc.response_code != 400:
                    raise
            # Duplicate: find the existing page by the slug GitLab derives (spaces -> dashes).
            wanted = "/".join(part.strip().replace(" ", "-") for part in title.split("/"))
            listed = {w.slug for w in wikis.list(**self._opts)}
            if wanted not in listed:
                raise GitLabError(400, f"wiki page {title!r} exists under an unknown slug", False)
            slug = self._wiki_slugs[title] = wanted
        wikis.update(slug, {"content": content}, **self._opts)
        return "updated"

    async def ensure_project_hook(
        self, url: str, secret: str, events: Iterable[str], *, project_id: int | None = None
    ) -> HookOutcome:
        """`events` are GitLab flags ("tag_push_events", "issues_events", ...). Every other
        flag is turned off (push_events defaults to on for a new hook). 403 (not a
        Maintainer there) is an answer, "no permission", not an error."""
        flags = set(events)
        try:
            return await self._run(self._ensure_hook, url, secret, flags, project_id)
        except GitLabError as exc:
            if exc.status == 403:
                return "no permission"
            raise

    def _ensure_hook(self, url: str, secret: str, flags: set[str], project_id: int | None) -> HookOutcome:
        from idlbot.adapters.gitlab.hooks import HOOK_FLAGS

        pid = project_id if project_id is not None else self._project_id()
        hooks = self._gl.projects.get(pid, lazy=True).hooks
        wanted = {f: f in flags for f in HOOK_FLAGS}
        data: dict[str, Any] = {"url": url, "token": secret, **wanted}
        for hook in hooks.list(**self._page):
            if hook.url == url:
                same = all(bool(getattr(hook, f, False)) == on for f, on in wanted.items())
                hooks.update(hook.id, data, **self._opts)  # the token is never shown: set it again
                return "ok" if same else "updated"
        hooks.create(data, **self._opts)
        return "created"

    async def close(self) -> None:
        """Drop queued calls and the HTTP session; a call in flight is abandoned, not waited
        for (a retrying one could take many seconds; see `threads.DaemonPool`)."""
        self._pool.shutdown(cancel_futures=True)
        if self._made is not None:
            self._made.session.close()
