"""The hand-in hook on every student repository, so a tag reaches the ledger in seconds.

Hand-ins are tags pushed to the repositories in `gitlab.assignments_group`, and GitLab CE
has no group webhooks: without a hook on each repository, a hand-in waits for the next
reconciliation. `setup-gitlab` ensures them all (`ensure_all`, one report line per
project); the reconciliation pass (`ensure_new`) adds them to repositories created later.

A pass does bounded work and does not hammer GitLab: at most `per_pass` repositories,
never-checked ones first and the newest of those first (a repository created this week
is the likely one without a hook), then those whose check is older than `recheck` (a hook
deleted by hand comes back within a day). A project GitLab refuses (403: the token is not
a Maintainer there) is tried again after `retry_refused`; the failures of a pass are one
warning line. An admin can instead add one system hook with tag push events (README),
and turn these off with `[gitlab] repository_hooks = false`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from idlbot.domain.errors import Unavailable
from idlbot.domain.gitlab import Repo
from idlbot.ports.gitlab import GitLabHooks

log = logging.getLogger(__name__)

TAG_PUSH = ("tag_push_events",)
"""A student repository's hook: tag pushes only (push_events off: branch pushes are noise)."""

COURSE_EVENTS = (
    "tag_push_events", "wiki_page_events", "issues_events", "confidential_issues_events",
    "note_events", "confidential_note_events", "emoji_events",
)  # fmt: skip
"""The course project's hook: questions, their votes and comments, wiki pages."""

IN_PLACE = frozenset({"created", "updated", "ok", "archived"})


@dataclass(frozen=True)
class HookLine:
    """One project's line in `setup-gitlab`'s report: created, updated, ok, no permission,
    archived (skipped), or failed (with GitLab's answer)."""

    path: str
    outcome: str
    detail: str = ""

    @property
    def in_place(self) -> bool:
        return self.outcome in IN_PLACE

    def __str__(self) -> str:
        if self.outcome == "no permission":
            return (
                f"{self.path}: no permission (GitLab answered 403: the token's user needs Maintainer there)"
            )
        if self.outcome == "archived":
            return f"{self.path}: archived, skipped (nobody can push to it)"
        return f"{self.path}: {self.outcome}" + (f" ({self.detail})" if self.detail else "")


class RepoHooks:
    """Keeps the tag-push hook on the assignment repositories (see the module docstring)."""

    def __init__(
        self,
        gitlab: GitLabHooks,
        url: Callable[[], str],
        secret: str,
        *,
        course_project: str = "",
        workers: int = 4,
        per_pass: int = 20,
        recheck: timedelta = timedelta(days=1),
        retry_refused: timedelta = timedelta(hours=6),
    ) -> None:
        self._gitlab = gitlab
        self._url = url  # a callable: the bot knows its port only once it listens
        self._secret = secret
        self._course_path = course_project
        self._course = course_project.lower()  # it has the course hook (tag pushes included)
        self._gate = asyncio.Semaphore(max(1, workers))
        self._per_pass = per_pass
        self._recheck = recheck
        self._retry_refused = retry_refused
        self._next_check: dict[int, datetime] = {}  # repo id -> when to look at it again

    def _wanted(self, repos: Sequence[Repo]) -> list[Repo]:
        return [r for r in repos if r.path.lower() != self._course]

    async def ensure(self, repo: Repo) -> HookLine:
        """One repository's hook; never raises for a GitLab failure (it is the line)."""
        if repo.archived:
            return HookLine(repo.path, "archived")
        try:
            async with self._gate:
                outcome: str = await self._gitlab.ensure_project_hook(
                    self._url(), self._secret, TAG_PUSH, project_id=repo.id
                )
        except Unavailable as exc:
            return HookLine(repo.path, "failed", str(exc))
        return HookLine(repo.path, outcome)

    async def ensure_all(self, repos: Sequence[Repo]) -> list[HookLine]:
        """Every repository (setup-gitlab), in the order given, a few at a time."""
        return list(await asyncio.gather(*(self.ensure(r) for r in self._wanted(repos))))

    async def setup(self, *, repositories: bool = True) -> list[HookLine]:
        """`setup-gitlab`: the course project's hook, then every assignment repository's.
        A failure on the course project or the group listing (a wrong token, GitLab down)
        raises `Unavailable`: nothing per project would tell more."""
        course = await self._gitlab.ensure_project_hook(self._url(), self._secret, COURSE_EVENTS)
        lines = [HookLine(self._course_path, course, "the course project: " + ", ".join(COURSE_EVENTS))]
        if repositories:
            lines += await self.ensure_all(await self._gitlab.assignment_projects())
        return lines

    async def ensure_new(self, repos: Sequence[Repo], now: datetime) -> list[HookLine]:
        """One reconciliation pass's share: the repositories due a check, at most `per_pass`."""
        due = [
            r for r in self._wanted(repos)
            if not r.archived and self._next_check.get(r.id, now) <= now
        ]  # fmt: skip
        due.sort(key=lambda r: (r.id in self._next_check, -r.id))
        chosen = due[: self._per_pass]
        lines = await asyncio.gather(*(self.ensure(r) for r in chosen))
        for repo, line in zip(chosen, lines, strict=True):
            if line.in_place:
                self._next_check[repo.id] = now + self._recheck
            elif line.outcome == "no permission":
                self._next_check[repo.id] = now + self._retry_refused
            else:
                self._next_check[repo.id] = now  # a network failure: the next pass, after the new ones
        self._log(lines, len(due))
        return list(lines)

    @staticmethod
    def _log(lines: Sequence[HookLine], due: int) -> None:
        made = [line.path for line in lines if line.outcome in ("created", "updated")]
        if made:
            log.info("hand-in hooks: created or updated on %s", ", ".join(made))
        bad = [line for line in lines if not line.in_place]
        if bad:
            log.warning(
                "hand-in hooks: %d of %d repositories checked are without the hook (%s); "
                "hand-ins there wait for the reconciliation",
                len(bad), len(lines), "; ".join(str(x) for x in bad[:5]) + ("; …" if len(bad) > 5 else ""),
                extra={"event": "repo_hooks", "outcome": "failed", "due": due},
            )  # fmt: skip
