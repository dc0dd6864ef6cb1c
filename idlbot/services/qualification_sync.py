"""Keep the ledger in step with GitLab: webhooks for speed, reconciliation for certainty.

GitLab never retries a webhook, so a hook lost to a restart or a network blip would
lose a hand-in for good. ``reconcile()`` re-reads every assignment repository's tag
pushes and the course wiki's page creations and records them again; recording is
idempotent and keeps the earliest receive time, so running both paths, in any order
and any number of times, ends in the same ledger.

Only receive times are stored here. Whether a hand-in was on time is decided when
reading, against the assignment's ``due`` (see ``storage.ledger``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from idlbot.clock import Clock
from idlbot.domain.course import Course
from idlbot.domain.gitlab import Repo, TagPush, WikiCreation
from idlbot.domain.ledger import Student
from idlbot.ports.deliveries import DeliveryKeys
from idlbot.ports.gitlab import GitLab

__all__ = ["HOOK_SCOPE", "LedgerWriter", "QualificationSync", "RosterReader", "SyncReport", "SyncSettings"]

log = logging.getLogger(__name__)

HOOK_SCOPE = "gitlab:ledger"
"""The ledger's scope in the delivery keys (migration 0007 copied the old keys into it)."""


class LedgerWriter(Protocol):
    """What syncing needs from the ledger (``storage.ledger.SqlLedger``)."""

    async def record_tag_push(
        self, push: TagPush, members: Sequence[str], *, assignment_id: str | None = None
    ) -> int: ...

    async def record_wiki_creation(
        self, creation: WikiCreation, course: Course, blog_prefix: str
    ) -> bool: ...


class RosterReader(Protocol):
    """What syncing needs from the roster (``storage.roster.SqlRoster``)."""

    async def all(self, group_id: str | None = None, *, include_inactive: bool = False) -> list[Student]: ...


class SyncSettings(Protocol):
    """What syncing needs from the GitLab settings (``idlbot.config.GitLabSettings``)."""

    @property
    def blog_prefix(self) -> str: ...

    @property
    def max_workers(self) -> int: ...

    @property
    def assignments_group(self) -> str: ...


@dataclass(frozen=True)
class SyncReport:
    """What one reconciliation found and changed (logged, and shown by `/idl sync`)."""

    repos: int = 0
    tag_pushes: int = 0  # tag pushes read that name an assignment
    hand_ins_changed: int = 0  # student hand-ins created or moved earlier
    wiki_pages: int = 0  # page creations read
    posts_changed: int = 0
    unknown_members: tuple[str, ...] = ()  # repo members not on the roster (no hand-in for them)
    summaries_changed: int = 0  # session-summary pages recorded (the rota's, not the ledger's)

    @property
    def changed(self) -> int:
        return self.hand_ins_changed + self.posts_changed


class QualificationSync:
    """Feeds GitLab events into the ledger, from hooks (``on_event``) or a re-read."""

    def __init__(
        self,
        gitlab: GitLab,
        ledger: LedgerWriter,
        roster: RosterReader,
        course: Course,
        settings: SyncSettings,
        clock: Clock,
        *,
        deliveries: DeliveryKeys,
        on_wiki: Callable[[WikiCreation], Awaitable[bool]] | None = None,
    ) -> None:
        """`on_wiki`: another recorder of wiki page creations (the session-summary rota),
        fed from both paths like the ledger, so a lost hook is caught up the same way."""
        self._on_wiki = on_wiki
        self._gitlab = gitlab
        self._deliveries = deliveries
        self._ledger = ledger
        self._roster = roster
        self._course = course
        self._settings = settings
        self._clock = clock
        self._assignments = {a.id.lower(): a.id for a in course.assignments}
        self._repos: dict[int, Repo] = {}
        self._lock = asyncio.Lock()

    def assignment_of(self, tag: str) -> str | None:
        """The assignment a tag hands in ("A03" and "a03" both mean a03), else None."""
        return self._assignments.get(tag.strip().lower())

    async def _refresh_repos(self) -> list[Repo]:
        repos = await self._gitlab.assignment_repos()
        self._repos = {r.id: r for r in repos}
        return repos

    @property
    def repos(self) -> list[Repo]:
        """The assignment repositories as last read (empty before the first reconciliation)."""
        return list(self._repos.values())

    def _outside_group(self, path: str) -> bool:
        """A path surely not in the assignments group. A system hook sends every project's
        tag pushes, and each unknown one would otherwise re-read every repository."""
        group = self._settings.assignments_group.strip("/").lower()
        return bool(path) and not group.isdigit() and not path.lower().startswith(group + "/")

    async def _repo(self, repo_id: int, path: str = "") -> Repo | None:
        """Members come from the REST API (hooks do not carry them), cached between
        reconciliations; a repo created since then triggers one refresh."""
        if repo_id not in self._repos and not self._outside_group(path):
            await self._refresh_repos()
        return self._repos.get(repo_id)

    async def _record_push(self, push: TagPush, repo: Repo) -> int:
        aid = self.assignment_of(push.tag)
        if aid is None or push.deleted:
            return 0
        return await self._ledger.record_tag_push(push, repo.members, assignment_id=aid)

    async def on_event(self, event: TagPush | WikiCreation, idempotency_key: str | None) -> bool:
        """Record one verified webhook event; True if the ledger changed.

        A delivery whose key was seen before is dropped. The key is claimed before
        recording: if recording then fails, the next reconciliation records it."""
        if idempotency_key and await self._deliveries.seen(HOOK_SCOPE, idempotency_key, self._clock.now()):
            log.info("gitlab event %s dropped: duplicate delivery", idempotency_key)
            return False
        if isinstance(event, WikiCreation):
            changed = await self._ledger.record_wiki_creation(event, self._course, self._settings.blog_prefix)
            return await self._other_wiki(event) or changed
        if self.assignment_of(event.tag) is None or event.deleted:
            return False
        repo = await self._repo(event.repo_id, event.repo_path)
        if repo is None:
            log.info("tag push to repo %s ignored: not in the assignments group", event.repo_path)
            return False
        return await self._record_push(event, repo) > 0

    async def _other_wiki(self, page: WikiCreation) -> bool:
        return await self._on_wiki(page) if self._on_wiki is not None else False

    async def reconcile(self, *, since: datetime | None = None) -> SyncReport:
        """Re-read GitLab and record everything (since ``since``, else from the start).

        One at a time (a lock), since two overlapping runs would only do the work twice.
        Repositories are read concurrently, bounded by the GitLab worker pool size."""
        async with self._lock:
            started = self._clock.monotonic()
            repos = await self._refresh_repos()
            gate = asyncio.Semaphore(max(1, self._settings.max_workers))

            async def pushes(repo: Repo) -> list[TagPush]:
                async with gate:
                    return await self._gitlab.tag_pushes(repo.id, since=since)

            per_repo = await asyncio.gather(*(pushes(r) for r in repos))
            read = changed = 0
            for repo, found in zip(repos, per_repo, strict=True):
                for push in found:
                    if self.assignment_of(push.tag) is not None and not push.deleted:
                        read += 1
                        changed += await self._record_push(push, repo)
            pages = await self._gitlab.wiki_creations(since=since)
            posts = summaries = 0
            for page in pages:
                posts += await self._ledger.record_wiki_creation(
                    page, self._course, self._settings.blog_prefix
                )
                summaries += await self._other_wiki(page)
            known = {s.gitlab for s in await self._roster.all(include_inactive=True) if s.gitlab}
            unknown = sorted({m.lower() for r in repos for m in r.members} - known)
            report = SyncReport(len(repos), read, changed, len(pages), posts, tuple(unknown), summaries)
            log.info(
                "gitlab reconcile: %d repos, %d tag pushes (%d hand-ins changed), %d wiki pages "
                "(%d posts changed), %d members not on the roster, %.0fms",
                report.repos, read, changed, len(pages), posts, len(unknown),
                (self._clock.monotonic() - started) * 1e3,
            )  # fmt: skip
            return report
