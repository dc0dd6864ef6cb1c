"""Ports: what commands and services need from the outside world, as Protocols.

Commands depend on these nouns only; the adapters (Mattermost, SQL) implement them.
That keeps `idlbot.commands` free of aiohttp, SQLAlchemy and the Mattermost driver,
and lets command tests run against in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from idlbot.domain.attachment import Attachment
from idlbot.domain.gitlab import Repo, TagPush, WikiCreation


class Outbox(Protocol):
    """Durable queue of posts: every post the bot makes goes through it."""

    async def enqueue(
        self,
        *,
        key: str,
        message: str,
        now: datetime,
        channel_id: str | None = None,
        dm_user_id: str | None = None,
        props: dict[str, Any] | None = None,
        root_id: str | None = None,
        files: Sequence[Attachment] = (),
    ) -> bool: ...

    async def enqueue_dms(self, *, items: Sequence[tuple[str, str]], message: str, now: datetime) -> None:
        """The same DM to many users, (key, user id) each, queued in one transaction."""
        ...


@dataclass(frozen=True)
class HealthSnapshot:
    """What `/idl health` and `/healthz` report."""

    websocket_state: str
    websocket_connected: bool
    reconnects: int
    database_ok: bool
    schema_revision: str | None
    schema_head: str
    outbox_backlog: int
    oldest_pending: datetime | None
    last_errors: list[tuple[str, str]] = field(default_factory=list)
    version: str = ""
    started_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def degraded(self) -> bool:
        return not (self.websocket_connected and self.database_ok)


class Health(Protocol):
    async def snapshot(self) -> HealthSnapshot: ...


class People(Protocol):
    """Mattermost accounts by username (for DMs to students and instructors)."""

    async def user_id(self, username: str) -> str | None:
        """The user id, or None if Mattermost has no such user."""
        ...


class GitLab(Protocol):
    """The course's GitLab, as the qualification ledger needs it (adapters/gitlab.py)."""

    async def assignment_repos(self) -> list[Repo]:
        """Every project in the assignments group, with its members."""
        ...

    async def tag_pushes(self, repo_id: int, *, since: datetime | None = None) -> list[TagPush]:
        """Tag pushes (and tag deletions) to one repository, oldest first, all pages."""
        ...

    async def wiki_creations(self, *, since: datetime | None = None) -> list[WikiCreation]:
        """Wiki page creations in the course project, oldest first, all pages."""
        ...
