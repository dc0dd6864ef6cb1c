"""The course's GitLab as the qualification ledger reads it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, Protocol

from idlbot.domain.gitlab import Repo, TagPush, WikiCreation


class GitLab(Protocol):
    """The course's GitLab, as the qualification ledger needs it (adapters/gitlab/client.py)."""

    async def assignment_repos(self) -> list[Repo]:
        """Every project in the assignments group, with its members."""
        ...

    async def tag_pushes(self, repo_id: int, *, since: datetime | None = None) -> list[TagPush]:
        """Tag pushes (and tag deletions) to one repository, oldest first, all pages."""
        ...

    async def wiki_creations(self, *, since: datetime | None = None) -> list[WikiCreation]:
        """Wiki page creations in the course project, oldest first, all pages."""
        ...


HookOutcome = Literal["created", "updated", "ok", "no permission"]
"""What ensuring one project's hook did: "ok" when a hook with that URL and exactly those
events was there already (its secret is set again: GitLab never shows it); "no permission"
when GitLab answered 403 (the token is not a Maintainer of that project)."""


class GitLabHooks(Protocol):
    """Project webhooks, as the bot keeps them in place (adapters/gitlab/client.py)."""

    async def assignment_projects(self) -> list[Repo]:
        """Every project in the assignments group and its subgroups, archived ones included,
        without members (one request per page of projects)."""
        ...

    async def ensure_project_hook(
        self, url: str, secret: str, events: Iterable[str], *, project_id: int | None = None
    ) -> HookOutcome:
        """A hook to `url` with `secret` and exactly `events` on the project (the course
        project when `project_id` is None). Other failures raise `Unavailable`."""
        ...
