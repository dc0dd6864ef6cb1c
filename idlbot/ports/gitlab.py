"""The course's GitLab as the qualification ledger reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

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
